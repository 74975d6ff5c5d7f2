import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { SYNC_EVERY_BYTES, SyncingFileWriter } from '../../src/storage/syncingFileWriter';

describe('SyncingFileWriter', () => {
  it('writes every byte in order, flushing to disk as it goes and once at the end', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-syncing-'));
    const file = path.join(dir, 'object');
    const chunk = (i: number) => Buffer.alloc(1 << 20, i & 0xff);
    const chunks = Math.ceil((2.5 * SYNC_EVERY_BYTES) / (1 << 20));
    const expected = createHash('md5');
    for (let i = 0; i < chunks; i++) expected.update(chunk(i));
    const handle = await fsp.open(file, 'w');
    const calls = { datasync: 0, sync: 0 };
    const { datasync, sync } = handle;
    handle.datasync = () => (calls.datasync++, datasync.call(handle));
    handle.sync = () => (calls.sync++, sync.call(handle));
    try {
      await pipeline(
        Readable.from(Array.from({ length: chunks }, (_, i) => chunk(i))),
        new SyncingFileWriter(handle),
      );
    } finally {
      await handle.close();
    }
    const actual = createHash('md5').update(fs.readFileSync(file)).digest('hex');
    expect(actual).toBe(expected.digest('hex'));
    expect(calls.datasync).toBeGreaterThanOrEqual(1);
    expect(calls.sync).toBe(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
