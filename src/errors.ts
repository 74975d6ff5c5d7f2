import { GraphQLError } from 'graphql';

/** Error codes clients can rely on (extensions.code). */
export enum ErrorCode {
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NOT_FOUND = 'NOT_FOUND',
  FORBIDDEN = 'FORBIDDEN',
  CONFLICT = 'CONFLICT',
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  /** Refused before running: too deep or too costly (see QUERY_MAX_DEPTH, QUERY_MAX_COST). */
  QUERY_TOO_COMPLEX = 'QUERY_TOO_COMPLEX',
  /** The identity provider cannot be reached to check the token: 503, try again (Retry-After). */
  IDP_UNAVAILABLE = 'IDP_UNAVAILABLE',
  /** The gateway is configured for an issuer the identity provider does not call itself. */
  IDP_MISCONFIGURED = 'IDP_MISCONFIGURED',
  /** Too many mutations from this caller; extensions.retryAfterMs says when to try again. */
  RATE_LIMITED = 'RATE_LIMITED',
  /** A bulk export larger than the caller's role may take (EXPORT_ROW_LIMITS): HTTP 413. */
  EXPORT_TOO_LARGE = 'EXPORT_TOO_LARGE',
  /** A replica gateway serves reads only: extensions.primaryUrl names where writes go. */
  READ_ONLY_REPLICA = 'READ_ONLY_REPLICA',
  /** A subscription's resume point (`after`) is unknown or no longer kept: re-query, resubscribe. */
  CHANGE_ID_UNAVAILABLE = 'CHANGE_ID_UNAVAILABLE',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/** A GraphQL error whose message is meant for the client. */
export class AppError extends GraphQLError {
  constructor(
    code: ErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
    httpStatus?: number,
    httpHeaders?: Record<string, string>,
  ) {
    const http = httpStatus
      ? {
          status: httpStatus,
          ...(httpHeaders ? { headers: new Map(Object.entries(httpHeaders)) } : {}),
        }
      : undefined;
    super(message, { extensions: { code, ...extensions, ...(http ? { http } : {}) } });
  }
}

export class BadUserInputError extends AppError {
  /** `field` names the argument that was wrong, so a client can point at it. */
  constructor(message: string, field?: string) {
    super(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});
  }
}

export class NotFoundError extends AppError {
  constructor(what: string, key: string | number) {
    super(ErrorCode.NOT_FOUND, `${what} ${key} not found`);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super(ErrorCode.CONFLICT, message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message = 'your role does not allow this operation') {
    super(ErrorCode.FORBIDDEN, message, {}, 403);
  }
}

export class UnauthenticatedError extends AppError {
  constructor(message = 'a valid bearer token is required') {
    super(ErrorCode.UNAUTHENTICATED, message, {}, 401);
  }
}

/**
 * The token could not be checked because the identity provider cannot be reached: not the
 * caller's fault, and not a verdict on the token. HTTP 503 with Retry-After.
 */
export class IdpUnavailableError extends AppError {
  constructor(message: string, retryAfterSeconds = 30) {
    super(ErrorCode.IDP_UNAVAILABLE, message, { retryAfterSeconds }, 503, {
      'retry-after': String(retryAfterSeconds),
    });
  }
}

/** OIDC_ISSUER differs from the issuer the provider names: an operator must fix it. HTTP 503. */
export class IdpMisconfiguredError extends AppError {
  constructor(message: string) {
    super(ErrorCode.IDP_MISCONFIGURED, message, {}, 503, { 'retry-after': '300' });
  }
}

/** Codes whose messages are safe to show; anything else is reported as INTERNAL_SERVER_ERROR. */
export const CLIENT_ERROR_CODES = new Set<string>([
  ...Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);
