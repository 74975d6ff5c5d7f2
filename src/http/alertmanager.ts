import express, { Router } from 'express';
import type { Authenticator } from '../auth/authenticate';
import { hasAnyRole, Role } from '../auth/roles';
import { ALERTMANAGER_SOURCE } from '../alerting/AlertmanagerPusher';
import { parseAlertmanagerWebhook, WebhookPayloadError } from '../alerting/alertmanagerWebhook';
import { AppError, ErrorCode } from '../errors';
import { logger } from '../logger';
import type { AlarmService } from '../services/AlarmService';

const log = logger('alertmanager');

function refuse(res: express.Response, status: number, code: string, message: string): void {
  res.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/**
 * `POST /alertmanager/webhook`: Alertmanager's webhook receiver (`send_resolved: true`). Each
 * firing alert becomes a gateway alarm (Alertmanager's fingerprint, labels and annotations
 * kept, severity from its `severity` label), each resolved one resolves it. Bearer token with
 * role `daq` (or admin). The answer is 2xx only once everything in the body is stored: a 5xx
 * makes Alertmanager retry, a 4xx says the body will never be taken (it is logged).
 */
export function alertmanagerRoutes(authenticator: Authenticator, alarms: AlarmService): Router {
  const router = Router();
  router.post(
    '/alertmanager/webhook',
    express.json({ limit: '4mb', type: () => true }),
    async (req, res) => {
      try {
        const principal = await authenticator.authenticate({
          authorization: req.headers.authorization,
        });
        if (!hasAnyRole(principal, [Role.DAQ]))
          return refuse(res, 403, ErrorCode.FORBIDDEN, 'the webhook needs a token with role daq');
        const changes = parseAlertmanagerWebhook(req.body);
        const stored = await alarms.applyAlertChanges(changes, ALERTMANAGER_SOURCE);
        res.json(stored);
      } catch (error) {
        if (error instanceof WebhookPayloadError) {
          log.warn({ reason: error.message }, 'refused an Alertmanager webhook body');
          return refuse(res, 400, ErrorCode.BAD_USER_INPUT, error.message);
        }
        if (error instanceof AppError) {
          const http = error.extensions.http as { status?: number } | undefined;
          return refuse(res, http?.status ?? 400, String(error.extensions.code), error.message);
        }
        log.error({ err: error }, 'could not store an Alertmanager webhook; it will retry');
        refuse(res, 503, ErrorCode.INTERNAL_SERVER_ERROR, 'not stored; try again');
      }
    },
  );
  return router;
}
