import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

// The MD5 thread of an ingest (see ParallelHasher). Chunks arrive in the slots of a shared
// buffer (no copy per message, no fresh memory per chunk); each slot is handed back once hashed.
const ring = new Uint8Array(workerData.ring as SharedArrayBuffer);
const slotBytes = workerData.slotBytes as number;
const md5 = createHash('md5');

parentPort!.on('message', (message: { slot: number; length: number } | null) => {
  if (message === null) {
    parentPort!.postMessage({ md5: md5.digest('hex') });
    return;
  }
  md5.update(ring.subarray(message.slot * slotBytes, message.slot * slotBytes + message.length));
  parentPort!.postMessage({ free: message.slot });
});
