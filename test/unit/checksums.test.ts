import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Adler32, Crc32c, parseCrc32cSidecar } from '../../src/reco/checksums';
import { ParallelHasher } from '../../src/services/ParallelHasher';

const zlibAdler32 = (data: Buffer) =>
  zlib.deflateSync(data, { level: 0 }).subarray(-4).toString('hex');

describe('checksums', () => {
  const data = Buffer.from(Array.from({ length: 3_000_001 }, (_, i) => (i * 2654435761) >>> 24));

  it('Adler32 agrees with zlib, across chunk borders and at any alignment', () => {
    const reference = zlibAdler32(data);
    for (const size of [1, 3, 5552, 5553, 65_537, 1 << 20]) {
      const adler = new Adler32();
      for (let i = 0; i < data.length; i += size) adler.update(data.subarray(i, i + size));
      expect(adler.hex(), `chunks of ${size}`).toBe(reference);
    }
    const shifted = Buffer.alloc(data.length + 3);
    for (const skew of [1, 2, 3]) {
      data.copy(shifted, skew);
      expect(new Adler32().update(shifted.subarray(skew, skew + data.length)).hex()).toBe(
        reference,
      );
    }
    // All bytes 255: the largest sums between two reductions.
    const ones = Buffer.alloc(100_003, 0xff);
    expect(new Adler32().update(ones).hex()).toBe(zlibAdler32(ones));
    expect(new Adler32().hex()).toBe('00000001');
  });

  it('Adler32 agrees with zlib on every length around the 16-byte steps and the 5536-byte rounds', () => {
    for (const around of [0, 16, 5536, 2 * 5536, 1 << 20]) {
      for (let length = Math.max(0, around - 17); length <= around + 17; length++) {
        const bytes = data.subarray(7, 7 + length);
        expect(new Adler32().update(bytes).hex(), `${length} bytes`).toBe(zlibAdler32(bytes));
      }
    }
  });

  it('CRC-32C gives the reference values', () => {
    expect(new Crc32c().update(Buffer.from('123456789')).hex()).toBe('e3069283');
    const whole = new Crc32c().update(data).hex();
    const parts = new Crc32c();
    for (let i = 0; i < data.length; i += 1001) parts.update(data.subarray(i, i + 1001));
    expect(parts.hex()).toBe(whole);
  });

  it('parses a mlogger .crc32c sidecar', () => {
    expect(parseCrc32cSidecar('e3069283 877492 run01234.mid.gz\n')).toEqual({
      crc32c: 'e3069283',
      sizeBytes: 877_492,
      name: 'run01234.mid.gz',
    });
    expect(() => parseCrc32cSidecar('garbage')).toThrow(/not a \.crc32c sidecar/);
  });

  it('ParallelHasher gives the MD5 and adler32 of the main-thread references', async () => {
    const reference = {
      md5: createHash('md5').update(data).digest('hex'),
      adler32: new Adler32().update(data).hex(),
    };
    // Chunks above a ring slot (1 MB), and more chunks than slots (8), so that update() waits
    // for the worker; one buffer reused for every chunk, as a reader may once update() returns.
    for (const size of [1 << 20, 2_500_000, 100_000]) {
      const hasher = new ParallelHasher();
      const scratch = Buffer.alloc(size);
      for (let i = 0; i < data.length; i += size) {
        const length = data.copy(scratch, 0, i, i + size);
        await hasher.update(scratch.subarray(0, length));
      }
      expect(await hasher.digest(), `chunks of ${size}`).toEqual(reference);
    }
    expect(await new ParallelHasher().digest()).toEqual({
      md5: createHash('md5').digest('hex'),
      adler32: '00000001',
    });
  });

  it('ParallelHasher refuses a second update before the first resolved (bytes out of order)', async () => {
    const hasher = new ParallelHasher();
    const first = hasher.update(data.subarray(0, 1000));
    await expect(hasher.update(data.subarray(1000, 2000))).rejects.toThrow(
      /before the last one resolved/,
    );
    await first;
    await hasher.update(data.subarray(1000, 2000));
    expect((await hasher.digest()).md5).toBe(
      createHash('md5').update(data.subarray(0, 2000)).digest('hex'),
    );
  });
});
