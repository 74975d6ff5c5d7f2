import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RecyclingFileReader } from '../../src/services/RecyclingFileReader';
import { lcg } from '../support/midasFixtures';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-recycling-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function randomFile(name: string, size: number): { file: string; content: Buffer } {
  const random = lcg(size);
  const content = Buffer.from(Array.from({ length: size }, () => Math.floor(random() * 256)));
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return { file, content };
}

async function withReader<T>(
  file: string,
  chunkBytes: number,
  use: (reader: RecyclingFileReader) => Promise<T>,
): Promise<T> {
  const handle = await fsp.open(file, 'r');
  try {
    return await use(new RecyclingFileReader(handle, chunkBytes));
  } finally {
    await handle.close();
  }
}

describe('RecyclingFileReader', () => {
  it('yields every byte in order, the last chunk short, and nothing for an empty file', async () => {
    const { file, content } = randomFile('two-and-a-half', 2500);
    const chunks = await withReader(file, 1000, async (reader) => {
      const seen: Buffer[] = [];
      for await (const chunk of reader.chunks()) seen.push(Buffer.from(chunk));
      return seen;
    });
    expect(chunks.map((chunk) => chunk.length)).toEqual([1000, 1000, 500]);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);

    const empty = randomFile('empty', 0).file;
    const none = await withReader(empty, 1000, async (reader) => {
      let count = 0;
      for await (const _chunk of reader.chunks()) count++;
      return count;
    });
    expect(none).toBe(0);
  });

  it('never reads into a chunk that has not been recycled', async () => {
    const { file, content } = randomFile('held', 10_000);
    await withReader(file, 1000, async (reader) => {
      const held: Buffer[] = [];
      for await (const chunk of reader.chunks()) held.push(chunk); // nothing recycled
      expect(new Set(held.map((chunk) => chunk.buffer)).size).toBe(10);
      // Every chunk still holds its own bytes after all the reads that followed it.
      expect(Buffer.concat(held).equals(content)).toBe(true);
    });
  });

  it('reads into the same few buffers when every chunk is recycled as soon as it is used', async () => {
    const { file, content } = randomFile('recycled', 50_000);
    await withReader(file, 1000, async (reader) => {
      const buffers = new Set<ArrayBufferLike>();
      const copies: Buffer[] = [];
      let offset = 0;
      for await (const chunk of reader.chunks()) {
        buffers.add(chunk.buffer);
        copies.push(Buffer.from(chunk));
        offset += chunk.length;
        reader.recycleUpTo(offset);
      }
      expect(Buffer.concat(copies).equals(content)).toBe(true);
      expect(buffers.size).toBeLessThanOrEqual(3); // this chunk, the read ahead, one spare
    });
  });

  it('recycles only the chunks that end at or before the offset it is given', async () => {
    const { file, content } = randomFile('partly', 20_000);
    await withReader(file, 1000, async (reader) => {
      const held: Array<{ start: number; chunk: Buffer }> = [];
      let offset = 0;
      for await (const chunk of reader.chunks()) {
        held.push({ start: offset, chunk });
        offset += chunk.length;
        // A consumer two and a half chunks behind: only whole chunks behind it come back,
        // and every chunk still ahead of it holds its own bytes whatever was read since.
        const behind = offset - 2500;
        reader.recycleUpTo(behind);
        for (const { start, chunk: kept } of held.filter((h) => h.start + 1000 > behind))
          expect(kept.equals(content.subarray(start, start + 1000))).toBe(true);
      }
    });
  });
});
