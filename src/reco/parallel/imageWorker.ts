import { parentPort, workerData } from 'node:worker_threads';
import { adoptDerivedMaps, reconstructImage, type DerivedMaps } from '../image/reconstruct';
import type { PedestalMap } from '../image/pedestal';
import type { RecoParameters } from '../image/parameters';
import type { ReductionParameters } from '../reduction/parameters';

// A reconstruction thread: the pedestal map arrives once, in shared memory; each image arrives
// in a buffer that is transferred here and back again, so that no image is ever allocated
// per event (10 MB of fresh memory per image makes V8 collect garbage on both cores).
// The maps derived from it (cuts, thresholds) arrive worked out, in shared memory too.
const { pedestal, derived, parameters, reduction } = workerData as {
  pedestal: PedestalMap;
  derived: DerivedMaps;
  parameters: RecoParameters;
  reduction?: ReductionParameters;
};
adoptDerivedMaps(pedestal, derived);

parentPort!.on('message', ({ id, image }: { id: number; image: Uint16Array }) => {
  const buffer = image.buffer as ArrayBuffer;
  try {
    const result = reconstructImage(image, pedestal, parameters, reduction);
    const transfer = [buffer];
    if (result.roi)
      transfer.push(result.roi.bins.buffer as ArrayBuffer, result.roi.pixels.buffer as ArrayBuffer);
    parentPort!.postMessage({ id, result, buffer }, transfer);
  } catch (error) {
    const { name, message } = error as Error;
    parentPort!.postMessage({ id, error: { name, message }, buffer }, [buffer]);
  }
});
