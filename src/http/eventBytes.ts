import { Router } from 'express';
import { ConflictError, NotFoundError } from '../errors';
import { logger } from '../logger';
import type { EventBytesService } from '../services/EventBytesService';

const log = logger('downloads');

/**
 * One event's bytes behind a signed, expiring link (`Event.downloadUrl`): a MIDAS event
 * (header and banks) as it lies in the raw file, read without fetching the whole file.
 */
export function eventBytesRoutes(events: EventBytesService): Router {
  const router = Router();
  router.get('/event-bytes/:id', async (req, res) => {
    const { id } = req.params;
    const { expires, signature } = req.query as Record<string, string | undefined>;
    if (!/^\d+$/.test(id) || !events.verify(id, expires, signature)) {
      res.status(403).json({ error: 'invalid or expired download link' });
      return;
    }
    try {
      const { bytes, event, how } = await events.read(Number(id));
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', String(bytes.length));
      res.setHeader(
        'Content-Disposition',
        `attachment; filename="run-event-${event.runId}-${event.serial}.midas"`,
      );
      // How the bytes were found: `range`, `seek-index` or `from-start` (slow: no index).
      res.setHeader('X-Cygno-Event-Read', how);
      res.end(bytes);
    } catch (error) {
      if (error instanceof NotFoundError || error instanceof ConflictError) {
        res.status(error instanceof NotFoundError ? 404 : 409).json({ error: error.message });
        return;
      }
      log.error({ err: error, eventId: id }, 'event download failed');
      res.status(500).json({ error: 'event download failed' });
    }
  });
  return router;
}
