import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { CompressionError } from './errors';
import { Lz4FrameDecoder } from './lz4';

export type Compression = 'none' | 'gzip' | 'lz4';

/** Recognises gzip and LZ4-frame data by their magic bytes; anything else is taken as plain. */
export function detectCompression(head: Uint8Array): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (
    head.length >= 4 &&
    head[0] === 0x04 &&
    head[1] === 0x22 &&
    head[2] === 0x4d &&
    head[3] === 0x18
  )
    return 'lz4';
  return 'none';
}

/**
 * The plain bytes of a possibly compressed stream, chunk by chunk: memory stays bounded by
 * the chunk and block sizes, whatever the file size.
 */
export async function* decompress(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  let exhausted = false;
  while (head.length < 4) {
    const next = await iterator.next();
    if (next.done) {
      exhausted = true;
      break;
    }
    head = head.length === 0 ? next.value : Buffer.concat([head, next.value]);
  }
  async function* all(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (exhausted) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  }
  const compression = detectCompression(head);
  if (compression === 'none') {
    yield* all();
    return;
  }
  const decoder =
    compression === 'gzip' ? zlib.createGunzip({ chunkSize: 1 << 20 }) : new Lz4FrameDecoder();
  const input = Readable.from(all());
  input.on('error', (error) => decoder.destroy(error));
  input.pipe(decoder);
  let produced = 0;
  try {
    for await (const chunk of decoder as AsyncIterable<Buffer>) {
      produced += chunk.length;
      yield chunk;
    }
  } catch (error) {
    if (error instanceof CompressionError) throw error;
    const reason =
      (error as NodeJS.ErrnoException).code === 'Z_BUF_ERROR'
        ? 'unexpected end of file (truncated?)'
        : (error as Error).message;
    throw new CompressionError(`${compression}: ${reason} after ${produced} decompressed bytes`);
  } finally {
    input.destroy();
  }
}

/**
 * `length` plain bytes from `offset` of a possibly compressed stream, inflated from its start
 * (what a file without a seek index costs). The caller closes the source.
 */
export async function decompressRange(
  source: AsyncIterable<Buffer>,
  offset: number,
  length: number,
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(length);
  let position = 0;
  let got = 0;
  for await (const chunk of decompress(source)) {
    const end = position + chunk.length;
    if (end > offset) {
      const from = Math.max(0, offset - position);
      const take = Math.min(chunk.length - from, length - got);
      chunk.copy(out, got, from, from + take);
      got += take;
      if (got === length) break;
    }
    position = end;
  }
  if (got < length) throw new Error(`the data ends ${length - got} bytes before the range does`);
  return out;
}
