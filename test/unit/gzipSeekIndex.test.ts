import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  compressedStartOf,
  decodeSeekIndex,
  encodeSeekIndex,
  GzipSeekIndexBuilder,
  inflateRange,
  seekPointFor,
} from '../../src/reco/midas/gzipSeekIndex';

/** Camera-like data: a pedestal with a few bits of noise, and repeats for back-references. */
function cameraLikeBytes(length: number): Buffer {
  const out = Buffer.alloc(length);
  let seed = 7;
  for (let i = 0; i < length; i += 2) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    out[i] = 95 + (seed >>> 29);
  }
  out.copy(out, length >> 1, 0, 100_000); // a long match far back in the file
  return out;
}

function* chunksOf(data: Buffer, size: number) {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

async function* from(data: Buffer, start: number, size = 65_536) {
  yield* chunksOf(data.subarray(start), size);
}

describe('gzip seek index', () => {
  const plain = cameraLikeBytes(12 * 1024 * 1024 + 12345);
  const gz = zlib.gzipSync(plain, { level: 6 });

  it('keeps a point every span of output, at block boundaries, whatever the chunking', () => {
    const indexes = [1000, 65_536, 1 << 20].map((chunk) => {
      const builder = new GzipSeekIndexBuilder(1 << 20);
      for (const piece of chunksOf(gz, chunk)) builder.update(piece);
      return builder.finish();
    });
    const [first] = indexes;
    expect(first.uncompressedSize).toBe(plain.length);
    expect(first.points.length).toBeGreaterThanOrEqual(10);
    expect(first.points[0]).toMatchObject({ uncompressedOffset: 0 });
    for (const index of indexes.slice(1)) {
      expect(index.points.map((p) => [p.compressedOffset, p.bits, p.uncompressedOffset])).toEqual(
        first.points.map((p) => [p.compressedOffset, p.bits, p.uncompressedOffset]),
      );
    }
    // Points at every bit position occur, so priming is exercised below.
    expect(new Set(first.points.map((p) => p.bits)).size).toBeGreaterThan(1);
  });

  it('inflates any range from the nearest point: equal to the plain bytes', async () => {
    const builder = new GzipSeekIndexBuilder(1 << 20);
    for (const piece of chunksOf(gz, 300_000)) builder.update(piece);
    const index = decodeSeekIndex(encodeSeekIndex(builder.finish()));
    const ranges = [
      [0, 100],
      [5, 1],
      [1 << 20, 10_000],
      [plain.length - 50, 50],
      [7_654_321, 2_500_000],
      ...index.points.map((p) => [p.uncompressedOffset, 777] as const),
      ...index.points.slice(1).map((p) => [p.uncompressedOffset - 3, 6] as const),
    ];
    for (const [offset, length] of ranges) {
      const point = seekPointFor(index, offset);
      expect(offset - point.uncompressedOffset).toBeLessThanOrEqual(2 << 20);
      const bytes = await inflateRange(point, from(gz, compressedStartOf(point)), offset, length);
      expect(bytes.equals(plain.subarray(offset, offset + length)), `${offset}+${length}`).toBe(
        true,
      );
    }
  });

  it('says so when asked past the end, or when the stream is cut short', async () => {
    // A cut file is indexed as far as it goes (the ingest's own inflate reports the cut).
    const cut = new GzipSeekIndexBuilder(1 << 20);
    cut.update(gz.subarray(0, gz.length >> 1));
    const partial = cut.finish();
    expect(partial.uncompressedSize).toBeLessThan(plain.length);
    expect(() => seekPointFor(partial, plain.length - 1)).toThrow(RangeError);
    const whole = new GzipSeekIndexBuilder(1 << 20);
    whole.update(gz);
    const index = whole.finish();
    expect(() => seekPointFor(index, plain.length)).toThrow(RangeError);
    const last = index.points[index.points.length - 1];
    await expect(
      inflateRange(
        last,
        from(gz.subarray(0, gz.length - 5000), compressedStartOf(last)),
        plain.length - 10,
        10,
      ),
    ).rejects.toThrow(/ends .* before the range does/);
  });
});
