import zlib from 'node:zlib';
import * as pako from 'pako/lib/zlib/inflate.js';
import ZStream from 'pako/lib/zlib/zstream.js';

/**
 * Random access into a gzip file (what CYGNO's DAQ writes), the way zlib's zran example and
 * `indexed_gzip` do it: while the file is read once, inflate stops at every deflate block
 * boundary (Z_BLOCK), and every `span` bytes of output a seek point is kept — where that block
 * starts in the compressed file (to the bit) and in the uncompressed data, with the 32 KB of
 * output before it that later blocks may refer back to. Any byte range is then inflated from
 * the nearest point before it: a few MB, never the file from its start.
 */
export interface SeekPoint {
  /** Bytes of the compressed file consumed before the block (its start is `bits` earlier). */
  compressedOffset: number;
  /** Bits of the byte at `compressedOffset - 1` that belong to the block (0–7). */
  bits: number;
  uncompressedOffset: number;
  /** The 32 KB of output before the point (less at the very start). */
  window: Uint8Array;
}

export interface GzipSeekIndex {
  span: number;
  /** Bytes of uncompressed data the index covers (the first gzip member). */
  uncompressedSize: number;
  points: SeekPoint[];
}

const Z_OK = 0;
const Z_STREAM_END = 1;
const Z_BUF_ERROR = -5;
const Z_NO_FLUSH = 0;
const Z_BLOCK = 5;
const WINDOW = 32 * 1024;
/** inflateInit2: raw deflate with a 15-bit window. */
const RAW = -15;

export const DEFAULT_SEEK_SPAN = 4 * 1024 * 1024;

/** zlib's native inflate, driven below Node's stream API (which cannot stop at blocks). */
interface NativeInflate {
  _handle: {
    writeSync(
      flush: number,
      input: Uint8Array,
      inOffset: number,
      inLength: number,
      output: Uint8Array,
      outOffset: number,
      outLength: number,
    ): void;
    close(): void;
  };
  /** [output space left, input left] after each write. */
  _writeState: Uint32Array;
}

/** Output after a point that decides which of its 8 possible bit offsets is the block's. */
const PROBE_BYTES = 4096;
/** Compressed bytes kept after a point for that: far more than PROBE_BYTES of output needs. */
const PROBE_INPUT = 64 * 1024;

interface PendingPoint {
  compressedOffset: number;
  uncompressedOffset: number;
  window: Buffer;
  /** Compressed bytes from `compressedOffset - 1` on. */
  input: Buffer[];
  inputBytes: number;
  /** Native output from the point on. */
  output: Buffer[];
  outputBytes: number;
}

/**
 * Builds the index of a gzip stream fed chunk by chunk, in order. Node's native zlib does the
 * inflating, stopping at block boundaries (Z_BLOCK) — about as fast as a plain gunzip. It tells
 * where a block starts to the byte, not to the bit; of the 8 bit offsets the one whose inflate
 * gives the output native zlib gave is the block's (decided on PROBE_BYTES of output).
 */
export class GzipSeekIndexBuilder {
  private readonly inflate = new zlib.Gunzip() as unknown as NativeInflate;
  private readonly out = Buffer.allocUnsafe(1 << 20);
  /** The last 32 KB of output, oldest first. */
  private tail = Buffer.alloc(0);
  private readonly points: SeekPoint[] = [];
  private pending: PendingPoint | undefined;
  private lastByte = 0;
  private totalIn = 0;
  private totalOut = 0;
  private lastPoint = -Infinity;
  private stopped = false;

  constructor(private readonly span = DEFAULT_SEEK_SPAN) {}

  update(chunk: Uint8Array): void {
    const { _handle: handle, _writeState: state } = this.inflate;
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      const length = chunk.length - offset;
      handle.writeSync(Z_BLOCK, chunk, offset, length, this.out, 0, this.out.length);
      const consumed = length - state[1];
      const produced = this.out.length - state[0];
      if (consumed === 0 && produced === 0) {
        // The member's end (what follows is not indexed) or data zlib refuses: the ingest's
        // own inflate reports the latter; the index keeps the points it has.
        this.stopped = true;
        break;
      }
      this.feedPending(chunk.subarray(offset, offset + consumed), this.out.subarray(0, produced));
      if (consumed > 0) this.lastByte = chunk[offset + consumed - 1];
      offset += consumed;
      this.totalIn += consumed;
      this.totalOut += produced;
      this.keepTail(this.out.subarray(0, produced));
      // Stopped with input and output space left: at a block boundary.
      const atBoundary = state[1] > 0 && state[0] > 0;
      if (atBoundary && !this.pending && this.totalOut - this.lastPoint > this.span) {
        this.pending = {
          compressedOffset: this.totalIn,
          uncompressedOffset: this.totalOut,
          window: Buffer.from(this.tail),
          input: [Buffer.from([this.lastByte])],
          inputBytes: 1,
          output: [],
          outputBytes: 0,
        };
        this.lastPoint = this.totalOut;
      }
    }
    if (offset < chunk.length) this.feedPending(chunk.subarray(offset), Buffer.alloc(0));
  }

  finish(): GzipSeekIndex {
    this.resolvePending(true);
    this.inflate._handle.close();
    return { span: this.span, uncompressedSize: this.totalOut, points: this.points };
  }

  private keepTail(output: Buffer): void {
    if (output.length >= WINDOW) this.tail = Buffer.from(output.subarray(output.length - WINDOW));
    else if (output.length > 0) this.tail = Buffer.concat([this.tail, output]).subarray(-WINDOW);
  }

  private feedPending(input: Uint8Array, output: Buffer): void {
    const pending = this.pending;
    if (!pending) return;
    if (pending.inputBytes < PROBE_INPUT && input.length > 0) {
      const take = input.subarray(0, PROBE_INPUT - pending.inputBytes);
      pending.input.push(Buffer.from(take));
      pending.inputBytes += take.length;
    }
    if (output.length > 0) {
      pending.output.push(Buffer.from(output.subarray(0, PROBE_BYTES)));
      pending.outputBytes += Math.min(output.length, PROBE_BYTES);
    }
    if (pending.outputBytes >= PROBE_BYTES) this.resolvePending(false);
  }

  /** Keeps the pending point with the bit offset whose inflate agrees with zlib's output. */
  private resolvePending(atEnd: boolean): void {
    const pending = this.pending;
    if (!pending || (!atEnd && pending.outputBytes < PROBE_BYTES)) return;
    this.pending = undefined;
    const expected = Buffer.concat(pending.output).subarray(0, PROBE_BYTES);
    if (expected.length === 0) return; // the end of the data: nothing to seek to
    const input = Buffer.concat(pending.input);
    for (let bits = 0; bits < 8; bits++) {
      const point: SeekPoint = {
        compressedOffset: pending.compressedOffset,
        bits,
        uncompressedOffset: pending.uncompressedOffset,
        window: pending.window,
      };
      const got = inflateFromPoint(point, bits ? input : input.subarray(1), expected.length);
      if (got?.equals(expected)) {
        this.points.push(point);
        return;
      }
    }
    // No bit offset agrees (should not happen): no point here; the next boundary gives one.
    this.lastPoint = -Infinity;
  }
}

/**
 * Up to `length` bytes inflated from a point, given the compressed bytes from
 * `compressedStartOf(point)` on; null when they are no valid deflate data from there.
 */
function inflateFromPoint(point: SeekPoint, compressed: Uint8Array, length: number): Buffer | null {
  const { strm, rest } = inflaterAt(point, compressed);
  try {
    const out = new Uint8Array(length);
    strm.input = rest;
    strm.next_in = 0;
    strm.avail_in = rest.length;
    strm.output = out;
    strm.next_out = 0;
    strm.avail_out = length;
    const status = pako.inflate(strm, Z_NO_FLUSH);
    if (status !== Z_OK && status !== Z_STREAM_END && status !== Z_BUF_ERROR) return null;
    return Buffer.from(out.subarray(0, strm.next_out));
  } finally {
    pako.inflateEnd(strm);
  }
}

/**
 * A raw inflate set at a point, given the compressed bytes from `compressedStartOf(point)` on:
 * primed with the block's first `bits` bits (the top bits of the byte before the point) and the
 * point's window as dictionary. Answers it with the bytes that remain to feed it.
 */
function inflaterAt(point: SeekPoint, first: Uint8Array): { strm: ZStream; rest: Uint8Array } {
  const strm = new ZStream();
  pako.inflateInit2(strm, RAW);
  let rest = first;
  if (point.bits) {
    strm.state!.hold += (first[0] >> (8 - point.bits)) << strm.state!.bits;
    strm.state!.bits += point.bits;
    rest = first.subarray(1);
  }
  if (point.window.length > 0) pako.inflateSetDictionary(strm, point.window);
  return { strm, rest };
}

/** The point to start from for `offset`: the last one at or before it. */
export function seekPointFor(index: GzipSeekIndex, offset: number): SeekPoint {
  let low = 0;
  let high = index.points.length - 1;
  if (high < 0 || offset >= index.uncompressedSize)
    throw new RangeError(`offset ${offset} is outside the ${index.uncompressedSize} bytes indexed`);
  while (low < high) {
    const middle = (low + high + 1) >> 1;
    if (index.points[middle].uncompressedOffset <= offset) low = middle;
    else high = middle - 1;
  }
  return index.points[low];
}

/** Where to start reading the compressed file for a point (one byte early for its bits). */
export const compressedStartOf = (point: SeekPoint): number =>
  point.compressedOffset - (point.bits ? 1 : 0);

/**
 * `length` bytes of uncompressed data from `offset`, inflating the compressed bytes from
 * `compressedStartOf(point)` on (`compressed`, read as far as needed) from `point`.
 */
export async function inflateRange(
  point: SeekPoint,
  compressed: AsyncIterable<Uint8Array>,
  offset: number,
  length: number,
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let skip = offset - point.uncompressedOffset;
  let got = 0;
  const scratch = new Uint8Array(1 << 20);
  let strm: ZStream | undefined;
  try {
    for await (const chunk of compressed) {
      if (chunk.length === 0) continue;
      let input: Uint8Array = chunk;
      if (!strm) ({ strm, rest: input } = inflaterAt(point, chunk));
      strm.input = input;
      strm.next_in = 0;
      strm.avail_in = input.length;
      while (strm.avail_in > 0 && got < length) {
        strm.output = scratch;
        strm.next_out = 0;
        strm.avail_out = scratch.length;
        const status = pako.inflate(strm, Z_NO_FLUSH);
        if (status !== Z_OK && status !== Z_STREAM_END && status !== Z_BUF_ERROR)
          throw new Error(`gzip range: ${strm.msg || `inflate status ${status}`}`);
        let produced = scratch.subarray(0, strm.next_out);
        const skipped = Math.min(skip, produced.length);
        skip -= skipped;
        produced = produced.subarray(skipped);
        const take = Math.min(produced.length, length - got);
        out.set(produced.subarray(0, take), got);
        got += take;
        if (status === Z_STREAM_END) break;
      }
      if (got >= length) break;
    }
  } finally {
    if (strm) pako.inflateEnd(strm);
  }
  if (got < length)
    throw new Error(`gzip range: the data ends ${length - got} bytes before the range does`);
  return out;
}

const MAGIC = Buffer.from('CYGZIDX1');

/** The index as stored beside the object: a small header, then the points, all deflated. */
export function encodeSeekIndex(index: GzipSeekIndex): Buffer {
  const parts: Buffer[] = [MAGIC];
  const header = Buffer.alloc(20);
  header.writeDoubleLE(index.span, 0);
  header.writeDoubleLE(index.uncompressedSize, 8);
  header.writeUInt32LE(index.points.length, 16);
  parts.push(header);
  for (const point of index.points) {
    const entry = Buffer.alloc(21);
    entry.writeDoubleLE(point.compressedOffset, 0);
    entry.writeUInt8(point.bits, 8);
    entry.writeDoubleLE(point.uncompressedOffset, 9);
    entry.writeUInt32LE(point.window.length, 17);
    parts.push(entry, Buffer.from(point.window));
  }
  return zlib.deflateRawSync(Buffer.concat(parts));
}

export function decodeSeekIndex(stored: Uint8Array): GzipSeekIndex {
  const raw = zlib.inflateRawSync(stored);
  if (!raw.subarray(0, 8).equals(MAGIC)) throw new Error('not a gzip seek index');
  let at = 8;
  const span = raw.readDoubleLE(at);
  const uncompressedSize = raw.readDoubleLE(at + 8);
  const count = raw.readUInt32LE(at + 16);
  at += 20;
  const points: SeekPoint[] = [];
  for (let i = 0; i < count; i++) {
    const windowLength = raw.readUInt32LE(at + 17);
    points.push({
      compressedOffset: raw.readDoubleLE(at),
      bits: raw.readUInt8(at + 8),
      uncompressedOffset: raw.readDoubleLE(at + 9),
      window: raw.subarray(at + 21, at + 21 + windowLength),
    });
    at += 21 + windowLength;
  }
  return { span, uncompressedSize, points };
}
