import { createHash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { Adler32 } from '../reco/checksums';

// The hashing thread of an ingest: MD5 and adler32 of every chunk, so that the main thread only
// reads, uploads and indexes. Each chunk is acknowledged, so the sender can bound what waits.
const md5 = createHash('md5');
const adler32 = new Adler32();

parentPort!.on('message', (chunk: Uint8Array | null) => {
  if (chunk === null) {
    parentPort!.postMessage({ md5: md5.digest('hex'), adler32: adler32.hex() });
    return;
  }
  md5.update(chunk);
  adler32.update(chunk);
  parentPort!.postMessage({ ack: true });
});
