import { Router } from 'express';
import type { IdpState } from '../auth/oidc';
import type { Runtime } from '../runtime';

/**
 * `/healthz`: the process is alive. `/readyz`: database, pub/sub and object store answer; the
 * identity provider's state is reported too, as `degraded` rather than not ready — static and
 * database tokens, and OIDC tokens whose keys are held, still work while it is away. A replica
 * gateway reports its replication: `degraded` when its data is old (lag past the bound, link
 * down), not ready when replication broke on an error (a diverged replica serves wrong data).
 */
export function healthRoutes(runtime: Runtime, idpState: () => IdpState | undefined): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const failures = await runtime.check();
    const replication = runtime.replicationMonitor?.latest;
    const replica = replication?.role === 'REPLICA' ? replication : undefined;
    if (replica?.status === 'BROKEN')
      failures.replication = `replication stopped by an error: ${replica.lastError ?? 'unknown'}`;
    const ready = Object.keys(failures).length === 0;
    const idp = idpState();
    const degraded =
      (idp !== undefined && idp.state !== 'ok') ||
      (replica !== undefined && replica.status !== 'OK');
    res.status(ready ? 200 : 503).json({
      status: !ready ? 'not ready' : degraded ? 'degraded' : 'ready',
      failures,
      ...(idp ? { idp } : {}),
      ...(replica ? { replication: replica } : {}),
    });
  });
  return router;
}
