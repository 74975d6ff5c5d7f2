import { parentPort, workerData } from 'node:worker_threads';
import { reconstructImage } from '../image/reconstruct';
import type { PedestalMap } from '../image/pedestal';
import type { RecoParameters } from '../image/parameters';

// A reconstruction thread: the pedestal map arrives once, in shared memory; each image arrives
// in a buffer that is transferred here and back again, so that no image is ever allocated
// per event (10 MB of fresh memory per image makes V8 collect garbage on both cores).
const { pedestal, parameters } = workerData as {
  pedestal: PedestalMap;
  parameters: RecoParameters;
};

parentPort!.on('message', ({ id, image }: { id: number; image: Uint16Array }) => {
  const buffer = image.buffer as ArrayBuffer;
  try {
    const result = reconstructImage(image, pedestal, parameters);
    parentPort!.postMessage({ id, result, buffer }, [buffer]);
  } catch (error) {
    const { name, message } = error as Error;
    parentPort!.postMessage({ id, error: { name, message }, buffer }, [buffer]);
  }
});
