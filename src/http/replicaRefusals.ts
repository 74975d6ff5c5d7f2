import { Router } from 'express';
import { ReadOnlyReplicaError } from '../replication/readOnlyReplicaError';
import { sendAppError } from './appErrorResponse';

/** A replica gateway's answer on the HTTP routes that write (GraphQL mutations refuse alike). */
export function replicaRefusals(primaryUrl: string): Router {
  const router = Router();
  router.post('/alertmanager/webhook', (_req, res) => {
    sendAppError(res, new ReadOnlyReplicaError(primaryUrl));
  });
  return router;
}
