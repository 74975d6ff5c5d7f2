import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { Adler32 } from '../reco/checksums';

/** Adler-32 and size of everything read from `stream` (a tape file read back to verify it). */
export async function adler32Of(stream: Readable): Promise<{ adler32: string; size: number }> {
  const adler = new Adler32();
  let size = 0;
  for await (const chunk of stream) {
    adler.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { adler32: adler.hex(), size };
}

/** A pass-through that hashes what flows (MD5, Adler-32, size) for a copy verified in flight. */
export class HashingStream extends Transform {
  private readonly md5 = createHash('md5');
  private readonly adler = new Adler32();
  size = 0;

  _transform(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.md5.update(chunk);
    this.adler.update(chunk);
    this.size += chunk.length;
    this.push(chunk);
    callback();
  }

  digests(): { md5: string; adler32: string; size: number } {
    return { md5: this.md5.digest('hex'), adler32: this.adler.hex(), size: this.size };
  }
}
