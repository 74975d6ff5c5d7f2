import { Router } from 'express';
import { logger } from '../logger';
import type { ObjectStore } from '../storage/ObjectStore';
import type { UrlSigner } from '../storage/signedUrls';

const log = logger('downloads');

/** Serves objects behind signed, expiring URLs (file backend's `downloadUrl`). */
export function objectRoutes(store: ObjectStore, signer: UrlSigner): Router {
  const router = Router();
  router.get('/objects/*key', async (req, res) => {
    const key = (req.params as { key: string[] }).key.join('/');
    const { expires, signature } = req.query as Record<string, string | undefined>;
    if (!signer.verify(key, expires, signature)) {
      res.status(403).json({ error: 'invalid or expired download link' });
      return;
    }
    try {
      const info = await store.stat(key);
      if (!info) {
        res.status(404).json({ error: 'object not found' });
        return;
      }
      res.setHeader('Content-Length', String(info.size));
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Disposition', `attachment; filename="${key.split('/').pop()}"`);
      const body = await store.get(key);
      body.on('error', (error) => {
        log.error({ err: error, key }, 'download failed mid-stream');
        res.destroy(error);
      });
      body.pipe(res);
    } catch (error) {
      log.error({ err: error, key }, 'download failed');
      if (!res.headersSent) res.status(500).json({ error: 'download failed' });
    }
  });
  return router;
}
