import fs from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';

/** The checkout or installed package root: where package.json is, above this file. */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the cygno-gateway package root');
    dir = parent;
  }
  return dir;
}

/**
 * The remote console at /console: static files (no build step), talking to /graphql like any
 * other client. Its own page only runs its own scripts; images may come from the object
 * store's presigned URLs on another host.
 */
export function consoleRoutes(): Router {
  const router = express.Router();
  const root = path.join(packageRoot(), 'console');
  router.get('/', (_req, res) => res.redirect(302, '/console/'));
  router.use(
    '/console',
    (_req, res, next) => {
      res.setHeader(
        'Content-Security-Policy',
        "default-src 'self'; img-src 'self' data: https: http:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      );
      next();
    },
    express.static(root, { index: 'index.html', maxAge: '5m' }),
  );
  return router;
}
