import { parentPort, workerData } from 'node:worker_threads';
import { encodeSeekIndex, GzipSeekIndexBuilder } from '../reco/midas/gzipSeekIndex';

// The seek-index thread of an ingest (see GzipSeekIndexer): inflates the gzip file a second
// time, in JavaScript, stopping at block boundaries, while the main thread's native inflate
// feeds the event index. Each chunk is acknowledged once inflated (flow control).
const builder = new GzipSeekIndexBuilder(workerData.span as number);
let failure: string | undefined;

parentPort!.on('message', (chunk: Uint8Array | null) => {
  if (chunk === null) {
    if (failure) parentPort!.postMessage({ error: failure });
    else {
      try {
        parentPort!.postMessage({ index: encodeSeekIndex(builder.finish()) });
      } catch (error) {
        parentPort!.postMessage({ error: (error as Error).message });
      }
    }
    return;
  }
  if (!failure) {
    try {
      builder.update(chunk);
    } catch (error) {
      failure = (error as Error).message;
    }
  }
  parentPort!.postMessage({ done: true });
});
