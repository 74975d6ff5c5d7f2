import { Router } from 'express';
import { logger } from '../logger';
import type { ObjectStore } from '../storage/ObjectStore';
import type { UrlSigner } from '../storage/signedUrls';

const log = logger('downloads');

/**
 * Serves objects behind signed, expiring URLs (file backend's `downloadUrl`), and takes uploads
 * through signed PUT links (a batch node's outputs): all-or-nothing, as every put.
 */
export function objectRoutes(store: ObjectStore, signer: UrlSigner): Router {
  const router = Router();
  router.put('/objects/*key', async (req, res) => {
    const key = (req.params as { key: string[] }).key.join('/');
    const { expires, signature } = req.query as Record<string, string | undefined>;
    if (!signer.verify(key, expires, signature, Date.now(), 'PUT')) {
      res.status(403).json({ error: 'invalid or expired upload link' });
      return;
    }
    const size = Number(req.headers['content-length']);
    if (!Number.isSafeInteger(size)) {
      res.status(411).json({ error: 'Content-Length is required' });
      return;
    }
    try {
      const info = await store.put(key, req, size);
      res.status(200).json({ size: info.size });
    } catch (error) {
      log.error({ err: error, key }, 'upload failed');
      if (!res.headersSent) res.status(500).json({ error: 'upload failed' });
    }
  });
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
