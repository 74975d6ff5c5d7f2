import express, { Router, type Request, type Response } from 'express';
import type { BatchJobService } from '../batch/BatchJobService';
import { AppError, BadUserInputError } from '../errors';
import { logger } from '../logger';
import { sendAppError } from './appErrorResponse';

const log = logger('batch');

/**
 * The API a batch attempt (`cygno-gateway batch-run`) speaks, with its job-scoped token as the
 * bearer: `POST /batch/jobs/:id/claim | heartbeat | complete | fail`. Nothing else accepts that
 * token, and these routes accept nothing else.
 */
export function batchJobRoutes(batch: BatchJobService): Router {
  const router = Router();
  router.use('/batch/jobs', express.json({ limit: '64kb' }));
  const route = (
    name: string,
    handle: (id: number, token: string | undefined, req: Request) => Promise<unknown>,
  ) =>
    router.post(`/batch/jobs/:id/${name}`, async (req: Request, res: Response) => {
      try {
        if (!/^\d{1,15}$/.test(String(req.params.id)))
          throw new BadUserInputError('the job id must be a whole number', 'id');
        const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
        res.json(await handle(Number(req.params.id), token, req));
      } catch (error) {
        if (error instanceof AppError) return sendAppError(res, error);
        log.error({ err: error, jobId: req.params.id, call: name }, 'batch call failed');
        res.status(500).json({
          errors: [
            {
              message: `${name} failed: ${(error as Error).message}`,
              extensions: { code: 'INTERNAL_SERVER_ERROR' },
            },
          ],
        });
      }
    });
  route('claim', (id, token) => batch.claim(id, token));
  route('heartbeat', (id, token, req) =>
    batch.heartbeat(id, token, Number(req.body?.progress ?? 0)),
  );
  route('complete', async (id, token, req) => {
    const done = await batch.complete(id, token, req.body);
    return { id: done.id, state: done.state };
  });
  route('fail', async (id, token, req) => {
    const failed = await batch.fail(
      id,
      token,
      String(req.body?.message ?? 'no reason given').slice(0, 4000),
    );
    return { id: failed.id, state: failed.state };
  });
  return router;
}
