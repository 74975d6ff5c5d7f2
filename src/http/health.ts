import { Router } from 'express';
import type { Runtime } from '../runtime';

/** `/healthz`: the process is alive. `/readyz`: database, pub/sub and object store answer. */
export function healthRoutes(runtime: Runtime): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const failures = await runtime.check();
    const ready = Object.keys(failures).length === 0;
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not ready', failures });
  });
  return router;
}
