import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeFromBuffer } from '../../src/services/bufferPaths';

// Retention deletes buffer files: never through a link, never outside the buffer — a path that
// was a plain file at ingestion may have become a way out since.

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-removal-'));
const buffer = path.join(root, 'buffer');
const outside = path.join(root, 'outside');
fs.mkdirSync(buffer);
fs.mkdirSync(outside);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('removeFromBuffer', () => {
  it('removes a plain file inside the buffer, and says when it is gone already', async () => {
    const file = path.join(buffer, 'run00001.mid');
    fs.writeFileSync(file, 'x');
    expect(await removeFromBuffer(buffer, file)).toBe('removed');
    expect(fs.existsSync(file)).toBe(false);
    expect(await removeFromBuffer(buffer, file)).toBe('gone');
  });

  it('refuses a file that became a link, and a path through a linked directory', async () => {
    const precious = path.join(outside, 'precious.mid');
    fs.writeFileSync(precious, 'keep me');
    fs.symlinkSync(precious, path.join(buffer, 'run00002.mid'));
    expect(await removeFromBuffer(buffer, path.join(buffer, 'run00002.mid'))).toBe('refused');
    fs.symlinkSync(outside, path.join(buffer, 'sub'));
    expect(await removeFromBuffer(buffer, path.join(buffer, 'sub', 'precious.mid'))).toBe(
      'refused',
    );
    expect(fs.readFileSync(precious, 'utf8')).toBe('keep me');
  });
});
