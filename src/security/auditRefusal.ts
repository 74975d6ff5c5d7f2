import { getOperationAST, parse, type GraphQLError } from 'graphql';
import type { AuditService } from '../services/AuditService';
import { mutationCalls } from './operationGuard';

/** The parts of a GraphQL-over-HTTP request body the audit log needs. */
interface RequestBody {
  query?: unknown;
  operationName?: unknown;
  variables?: unknown;
}

/**
 * Records a mutation refused before it could run because its caller was not authenticated (a
 * missing, expired or forged token; an IdP that could not check it): refusals belong in the
 * audit log as much as what ran. Anything that is not a parseable mutation is left alone.
 */
export async function auditRefusedMutation(
  audit: AuditService,
  body: RequestBody | undefined,
  address: string | undefined,
  error: GraphQLError,
): Promise<void> {
  if (typeof body?.query !== 'string') return;
  const operationName = typeof body.operationName === 'string' ? body.operationName : null;
  let operation;
  try {
    operation = getOperationAST(parse(body.query), operationName);
  } catch {
    return; // not a document: nothing that could have run
  }
  if (operation?.operation !== 'mutation') return;
  const variables =
    body.variables && typeof body.variables === 'object'
      ? (body.variables as Record<string, unknown>)
      : undefined;
  const calls = mutationCalls(operation, variables);
  await audit.record({
    at: new Date(),
    principal: 'unauthenticated',
    address: address ?? 'unknown',
    operation: calls.operation,
    operationName,
    arguments: calls.arguments,
    outcome: String(error.extensions?.code ?? 'UNAUTHENTICATED'),
  });
}
