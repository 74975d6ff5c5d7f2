import { execFileSync } from 'node:child_process';
import path from 'node:path';

/**
 * Vitest global setup: compiles the sources into dist/ before any test runs. Worker threads
 * (the image pool, the ingest's MD5 thread) and the CLI tests run the compiled copy, so a test
 * run without a fresh build would silently test stale code — whether it was started by
 * `npm test` or by `npx vitest`.
 */
export default function buildFirst(): void {
  const root = path.resolve(__dirname, '..', '..');
  try {
    execFileSync(
      process.execPath,
      [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', root],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
  } catch (error) {
    const output = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    throw new Error(`the build (tsc -p .) failed, so the tests would run stale code:\n${output}`);
  }
}
