import type { GraphQLFormattedError } from 'graphql';
import { unwrapResolverError } from '@apollo/server/errors';
import type { ValidationError } from 'class-validator';
import { ArgumentValidationError } from 'type-graphql';
import { CLIENT_ERROR_CODES, ErrorCode } from '../errors';
import { logger } from '../logger';

const log = logger('graphql');

/** "input.files.0.md5: md5 must be 32 hexadecimal characters" for every failed constraint. */
function describeValidation(
  errors: ValidationError[],
  prefix = '',
): { field: string; message: string }[] {
  return errors.flatMap((error) => {
    const field = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...describeValidation(error.children ?? [], field)];
  });
}

/**
 * Shapes every error a client sees: known codes pass with their messages; argument validation
 * becomes BAD_USER_INPUT naming the fields; anything else is logged in full and shown only as
 * INTERNAL_SERVER_ERROR, without internals.
 */
export function formatError(
  formatted: GraphQLFormattedError,
  error: unknown,
): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  if (original instanceof ArgumentValidationError) {
    const problems = describeValidation(original.extensions.validationErrors as ValidationError[]);
    const args = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
    return {
      message: `invalid arguments: ${args}`,
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.BAD_USER_INPUT, fields: problems.map((p) => p.field) },
    };
  }
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && CLIENT_ERROR_CODES.has(code)) {
    const { stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
    return { ...formatted, extensions };
  }
  log.error({ err: original, path: formatted.path }, 'unexpected error while serving a request');
  return {
    message: 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}
