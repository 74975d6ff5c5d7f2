import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FollowError, followGrowingFile } from '../../src/live/growingFile';
import { runFileOf } from '../../src/live/runFiles';

// Following a file MIDAS' logger is still writing: what the live reconstruction reads from.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-follow-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function collect(
  file: string,
  finished: () => boolean,
  pollMs = 20,
  notify = true,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const signal = new AbortController().signal;
  const options = { signal, finished, pollMs, chunkBytes: 7, notify };
  for await (const chunk of followGrowingFile(file, options)) chunks.push(chunk);
  return Buffer.concat(chunks);
}

describe('followGrowingFile', () => {
  it('waits for a file that does not exist yet, and reads what is appended until the writer is done', async () => {
    const file = path.join(dir, 'grows.bin');
    let done = false;
    const reading = collect(file, () => done);
    await new Promise((resolve) => setTimeout(resolve, 60));
    fs.writeFileSync(file, 'first part, ');
    await new Promise((resolve) => setTimeout(resolve, 60));
    fs.appendFileSync(file, 'second part, ');
    await new Promise((resolve) => setTimeout(resolve, 60));
    fs.appendFileSync(file, 'and the end');
    done = true; // told after the last write: everything written before is read
    expect((await reading).toString()).toBe('first part, second part, and the end');
  });

  it('polls where no notification comes (a network file system)', async () => {
    const file = path.join(dir, 'polled.bin');
    fs.writeFileSync(file, 'a');
    let done = false;
    const reading = collect(file, () => done, 30, false);
    const fd = fs.openSync(file, 'a');
    for (const part of ['b', 'c', 'd']) {
      fs.writeSync(fd, part);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    fs.closeSync(fd);
    done = true;
    expect((await reading).toString()).toBe('abcd');
  });

  it('ends without bytes when the writer is done and never wrote the file', async () => {
    expect((await collect(path.join(dir, 'never.bin'), () => true)).length).toBe(0);
  });

  it('refuses a file shortened under it', async () => {
    const file = path.join(dir, 'shrinks.bin');
    fs.writeFileSync(file, 'twenty bytes of data');
    let done = false;
    const reading = collect(file, () => done);
    await new Promise((resolve) => setTimeout(resolve, 60));
    fs.truncateSync(file, 5);
    await expect(reading).rejects.toThrow(FollowError);
    await expect(reading).rejects.toThrow(/shortened from 20 to 5 bytes/);
    done = true;
  });

  it('refuses a file replaced by another of the same name', async () => {
    const file = path.join(dir, 'replaced.bin');
    fs.writeFileSync(file, 'the first file');
    let done = false;
    const reading = collect(file, () => done);
    await new Promise((resolve) => setTimeout(resolve, 60));
    const other = path.join(dir, 'other.bin');
    fs.writeFileSync(other, 'the second file, longer');
    fs.renameSync(other, file);
    await expect(reading).rejects.toThrow(/replaced by another file/);
    done = true;
  });
});

describe('runFileOf', () => {
  it('reads run and subrun from the logger names, and nothing else', () => {
    expect(runFileOf('run00042.mid.gz')).toEqual({ runNumber: 42, subrun: -1 });
    expect(runFileOf('run00042_003.mid.lz4')).toEqual({ runNumber: 42, subrun: 3 });
    expect(runFileOf('run42.mid')).toEqual({ runNumber: 42, subrun: -1 });
    expect(runFileOf('run00042.mid.gz.tmp')).toBeUndefined();
    expect(runFileOf('camera_42.mid.gz')).toBeUndefined();
  });
});
