import type { ApolloServerPlugin } from '@apollo/server';
import type { GatewayContext } from '../context';
import type { AuditService } from '../services/AuditService';
import { ReadOnlyReplicaError } from '../replication/readOnlyReplicaError';
import { mutationCalls, type OperationGuard } from './operationGuard';

/**
 * Apollo's side of the abuse limits and the audit log: every operation is measured before it
 * runs, every mutation is rate-limited per caller and recorded — refused ones too, with the
 * code that refused them.
 */
export function apolloGuard(
  guard: OperationGuard,
  audit: AuditService,
  /** On a replica gateway: where mutations must go instead. */
  primaryUrl?: string,
): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request, operation, contextValue }) {
          guard.checkShape(schema, document, request.operationName, request.variables);
          if (operation?.operation === 'mutation' && primaryUrl)
            throw new ReadOnlyReplicaError(primaryUrl);
          if (operation?.operation === 'mutation')
            await guard.checkMutationRate(contextValue.principal.name);
        },
        async willSendResponse({ operation, request, response, contextValue }) {
          if (operation?.operation !== 'mutation') return;
          const body = response.body;
          const errors = body.kind === 'single' ? body.singleResult.errors : undefined;
          const { operation: fields, arguments: args } = mutationCalls(
            operation,
            request.variables,
          );
          await audit.record({
            at: new Date(),
            principal: contextValue.principal.name,
            address: contextValue.address ?? 'unknown',
            operation: fields,
            operationName: request.operationName ?? null,
            arguments: args,
            outcome: errors?.length ? String(errors[0].extensions?.code ?? 'ERROR') : 'OK',
          });
        },
      };
    },
  };
}
