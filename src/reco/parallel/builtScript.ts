import fs from 'node:fs';
import path from 'node:path';

/**
 * The compiled file of a worker thread's script. From dist/ it sits next to the module that
 * starts it; under the test runner (TypeScript sources) the compiled copy in dist/ is used,
 * which `npm test` builds first.
 */
export function builtScript(moduleDir: string, name: string): string {
  const sibling = path.join(moduleDir, `${name}.js`);
  if (fs.existsSync(sibling)) return sibling;
  const root = path.resolve(__dirname, '../../..');
  const built = path.join(root, 'dist', path.relative(root, moduleDir), `${name}.js`);
  if (fs.existsSync(built)) return built;
  throw new Error(`worker script not built: run "npm run build" (looked for ${built})`);
}
