import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

/** MD5 of bytes, as the gateway records it (hex). */
export const md5 = (data: Buffer) => createHash('md5').update(data).digest('hex');

/** adler32 from zlib itself: the last four bytes of a zlib stream, big-endian (hex). */
export const adler32 = (data: Buffer) =>
  zlib.deflateSync(data, { level: 0 }).subarray(-4).toString('hex');

/** Every byte of a stream (an object read back from a store), in one buffer. */
export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
