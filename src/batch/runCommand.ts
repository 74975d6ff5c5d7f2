import { spawn } from 'node:child_process';
import path from 'node:path';

/**
 * Runs a batch system's command and resolves with its stdout; rejects with its exit code and
 * the start of its stderr. `input` goes to its stdin (a batch script).
 */
export function runCommand(
  program: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<string> {
  const name = path.basename(program);
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', (error) => reject(new Error(`${name}: ${error.message}`)));
    child.on('close', (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${name} exited ${code}: ${stderr.trim().slice(0, 500)}`));
    });
    // A command that exits without reading its stdin breaks the pipe (EPIPE): its exit code
    // and stderr tell what happened, so the write error itself is not worth a crash.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}
