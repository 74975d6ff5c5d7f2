import { Transform, type TransformCallback } from 'node:stream';
import { CompressionError } from './errors';
import { Xxh32, xxh32 } from './xxhash32';

const FRAME_MAGIC = 0x184d2204;
const WINDOW = 64 * 1024;
const BLOCK_MAX_SIZES: Record<number, number> = {
  4: 64 << 10,
  5: 256 << 10,
  6: 1 << 20,
  7: 4 << 20,
};

/**
 * Decodes one LZ4 block into `dst` at `start`; matches may reach back into `dst` before `start`
 * (the previous block's tail: MIDAS writes frames with linked blocks). Returns the end offset.
 */
export function decodeLz4Block(src: Uint8Array, dst: Uint8Array, start: number): number {
  let ip = 0;
  let op = start;
  const end = src.length;
  while (ip < end) {
    const token = src[ip++];
    let literals = token >>> 4;
    if (literals === 15) {
      let b: number;
      do {
        if (ip >= end) throw new CompressionError('lz4: truncated literal length');
        b = src[ip++];
        literals += b;
      } while (b === 255);
    }
    if (ip + literals > end) throw new CompressionError('lz4: literals run past the block');
    if (op + literals > dst.length)
      throw new CompressionError('lz4: block decodes to more than its maximum size');
    dst.set(src.subarray(ip, ip + literals), op);
    ip += literals;
    op += literals;
    if (ip >= end) break; // the last sequence carries literals only
    if (ip + 2 > end) throw new CompressionError('lz4: truncated match offset');
    const offset = src[ip] | (src[ip + 1] << 8);
    ip += 2;
    if (offset === 0 || offset > op)
      throw new CompressionError(`lz4: match offset ${offset} reaches before the window`);
    let length = (token & 15) + 4;
    if ((token & 15) === 15) {
      let b: number;
      do {
        if (ip >= end) throw new CompressionError('lz4: truncated match length');
        b = src[ip++];
        length += b;
      } while (b === 255);
    }
    if (op + length > dst.length)
      throw new CompressionError('lz4: block decodes to more than its maximum size');
    let from = op - offset;
    if (offset >= length) {
      dst.copyWithin(op, from, from + length);
      op += length;
    } else {
      // Overlapping match: repeats the last `offset` bytes.
      for (let i = 0; i < length; i++) dst[op++] = dst[from++];
    }
  }
  return op;
}

type State =
  'magic' | 'descriptor' | 'blockSize' | 'block' | 'blockChecksum' | 'contentChecksum' | 'skip';

/**
 * Streaming decoder of LZ4 frames (one or several, skippable frames skipped): linked or
 * independent blocks, block and content checksums verified, memory bounded by the block size.
 */
export class Lz4FrameDecoder extends Transform {
  private buffered: Buffer = Buffer.alloc(0);
  private state: State = 'magic';
  private blockMax = 0;
  private blockChecksums = false;
  private contentChecksum = false;
  private independent = false;
  private blockLength = 0;
  private blockRaw = false;
  private skipLeft = 0;
  private window: Buffer = Buffer.alloc(0);
  private hash = new Xxh32();
  private frames = 0;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    try {
      this.drain();
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state !== 'magic' || this.buffered.length > 0 || this.frames === 0) {
      callback(new CompressionError(`lz4: stream ends inside a frame (${this.state})`));
      return;
    }
    callback();
  }

  private consume(n: number): Buffer | null {
    if (this.buffered.length < n) return null;
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  private drain(): void {
    for (;;) {
      switch (this.state) {
        case 'magic': {
          if (this.buffered.length < 4) return;
          const magic = this.buffered.readUInt32LE(0);
          if (magic === FRAME_MAGIC) {
            this.consume(4);
            this.state = 'descriptor';
          } else if ((magic & 0xfffffff0) === 0x184d2a50) {
            if (this.buffered.length < 8) return;
            this.skipLeft = this.buffered.readUInt32LE(4);
            this.consume(8);
            this.state = 'skip';
          } else {
            throw new CompressionError(`lz4: bad frame magic 0x${magic.toString(16)}`);
          }
          break;
        }
        case 'skip': {
          const n = Math.min(this.skipLeft, this.buffered.length);
          this.consume(n);
          this.skipLeft -= n;
          if (this.skipLeft > 0) return;
          this.state = 'magic';
          break;
        }
        case 'descriptor': {
          if (this.buffered.length < 2) return;
          const flg = this.buffered[0];
          const length = 3 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
          const descriptor = this.consume(length);
          if (!descriptor) return;
          if (flg >>> 6 !== 1)
            throw new CompressionError(`lz4: unsupported frame version ${flg >>> 6}`);
          if (flg & 0x01)
            throw new CompressionError('lz4: frames with a dictionary id are not supported');
          const expected = (xxh32(descriptor.subarray(0, length - 1)) >>> 8) & 0xff;
          if (descriptor[length - 1] !== expected)
            throw new CompressionError('lz4: frame descriptor checksum mismatch');
          this.blockMax = BLOCK_MAX_SIZES[(descriptor[1] >>> 4) & 7] ?? 0;
          if (!this.blockMax) throw new CompressionError('lz4: invalid block maximum size');
          this.independent = Boolean(flg & 0x20);
          this.blockChecksums = Boolean(flg & 0x10);
          this.contentChecksum = Boolean(flg & 0x04);
          this.window = Buffer.alloc(0);
          this.hash = new Xxh32();
          this.state = 'blockSize';
          break;
        }
        case 'blockSize': {
          const header = this.consume(4);
          if (!header) return;
          const word = header.readUInt32LE(0);
          if (word === 0) {
            this.state = this.contentChecksum ? 'contentChecksum' : 'magic';
            if (!this.contentChecksum) this.frames++;
            break;
          }
          this.blockRaw = (word & 0x80000000) !== 0;
          this.blockLength = word & 0x7fffffff;
          if (this.blockLength > this.blockMax)
            throw new CompressionError(
              `lz4: block of ${this.blockLength} bytes exceeds the frame maximum ${this.blockMax}`,
            );
          this.state = 'block';
          break;
        }
        case 'block': {
          if (this.buffered.length < this.blockLength + (this.blockChecksums ? 4 : 0)) return;
          const block = this.consume(this.blockLength)!;
          if (this.blockChecksums) {
            const sum = this.consume(4)!.readUInt32LE(0);
            if (xxh32(block) !== sum) throw new CompressionError('lz4: block checksum mismatch');
          }
          this.decodeBlock(block);
          this.state = 'blockSize';
          break;
        }
        case 'contentChecksum': {
          const sum = this.consume(4);
          if (!sum) return;
          if (sum.readUInt32LE(0) !== this.hash.digest())
            throw new CompressionError(
              'lz4: content checksum mismatch: the decompressed data is corrupt',
            );
          this.frames++;
          this.state = 'magic';
          break;
        }
      }
    }
  }

  private decodeBlock(block: Buffer): void {
    let output: Buffer;
    if (this.blockRaw) {
      output = Buffer.from(block);
    } else {
      const prefix = this.independent ? 0 : this.window.length;
      const target = Buffer.allocUnsafe(prefix + this.blockMax);
      if (prefix) this.window.copy(target, 0);
      const end = decodeLz4Block(block, target, prefix);
      output = target.subarray(prefix, end);
      if (!this.independent)
        this.window = Buffer.from(target.subarray(Math.max(0, end - WINDOW), end));
    }
    if (this.blockRaw && !this.independent) {
      this.window = Buffer.concat([this.window, output]).subarray(-WINDOW);
    }
    if (this.contentChecksum) this.hash.update(output);
    this.push(output);
  }
}
