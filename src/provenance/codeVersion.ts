import fs from 'node:fs';
import path from 'node:path';

export interface CodeVersion {
  /** The package's version. */
  version: string;
  /** The git commit the code was built from, when known (CYGNO_GIT_COMMIT, or the checkout). */
  commit: string | null;
}

let cached: CodeVersion | undefined;

/** The directory of the package.json named cygno-gateway above `from` (src/ or dist/src/). */
function packageRoot(from: string): string | null {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const name = (JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string }).name;
      if (name === 'cygno-gateway') return dir;
    }
    if (path.dirname(dir) === dir) return null;
  }
}

/** The commit HEAD names in a git checkout (a branch's ref, loose or packed, or a detached id). */
function gitCommit(root: string): string | null {
  try {
    const git = path.join(root, '.git');
    const head = fs.readFileSync(path.join(git, 'HEAD'), 'utf8').trim();
    if (/^[0-9a-f]{40}$/.test(head)) return head;
    const ref = /^ref: (.+)$/.exec(head)?.[1];
    if (!ref) return null;
    const loose = path.join(git, ref);
    if (fs.existsSync(loose)) return fs.readFileSync(loose, 'utf8').trim();
    const packed = fs.readFileSync(path.join(git, 'packed-refs'), 'utf8');
    return (
      new RegExp(`^([0-9a-f]{40}) ${ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').exec(
        packed,
      )?.[1] ?? null
    );
  } catch {
    return null;
  }
}

/** What code this is, for provenance records: read once. */
export function codeVersion(): CodeVersion {
  if (cached) return cached;
  const root = packageRoot(__dirname);
  const version = root
    ? ((
        JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }
      ).version ?? 'unknown')
    : 'unknown';
  const fromEnv = process.env.CYGNO_GIT_COMMIT?.trim();
  const commit =
    fromEnv && /^[0-9a-f]{7,40}$/.test(fromEnv) ? fromEnv : root ? gitCommit(root) : null;
  cached = { version, commit };
  return cached;
}
