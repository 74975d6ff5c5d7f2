import { RecoInputError } from '../image/errors';
import type { RecoParameters } from '../image/parameters';
import type { PedestalMap } from '../image/pedestal';
import { pedestalReference, type ImageReconstruction } from '../image/reconstruct';
import type { ImagePool } from '../parallel/ImagePool';
import type { ReducedEvent, ReducedMetadata, ReducedRun } from './reducedRun';
import { restoreImage } from './roi';

/**
 * Whether `parameters` may reconstruct from this reduced file: the same grid (rebinning,
 * acceptance, image size), zero suppression and clustering thresholds not below the ones the
 * file was cut with (what lies outside the kept bins was below them), and a DBSCAN reach inside
 * the kept margin. Throws, saying which and what to do, otherwise.
 */
export function checkReducible(
  metadata: ReducedMetadata,
  parameters: RecoParameters,
  pedestal: PedestalMap,
): void {
  const cut = metadata.recoParameters;
  const problems: string[] = [];
  if (pedestal.width !== metadata.image.width || pedestal.height !== metadata.image.height)
    problems.push(
      `the pedestal map is ${pedestal.width}×${pedestal.height}, the reduced images ${metadata.image.width}×${metadata.image.height}`,
    );
  if (parameters.rebin !== cut.rebin)
    problems.push(`rebin ${parameters.rebin} differs from the file's ${cut.rebin}`);
  if (JSON.stringify(parameters.acceptance) !== JSON.stringify(cut.acceptance))
    problems.push('the acceptance window differs from the one the file was cut with');
  if (parameters.nsigma < cut.nsigma)
    problems.push(`nsigma ${parameters.nsigma} is below the file's ${cut.nsigma}`);
  if (parameters.pointThreshold < cut.pointThreshold)
    problems.push(
      `pointThreshold ${parameters.pointThreshold} is below the file's ${cut.pointThreshold}`,
    );
  if (parameters.eps > metadata.reduction.marginBins - 1)
    problems.push(
      `eps ${parameters.eps} reaches beyond the kept margin of ${metadata.reduction.marginBins} bins (at most ${metadata.reduction.marginBins - 1})`,
    );
  if (parameters.cimax > 32767)
    problems.push(`cimax ${parameters.cimax} is above what 16-bit reduced pixels hold (32767)`);
  if (problems.length > 0)
    throw new RecoInputError(
      `these parameters cannot reconstruct from the reduced file of run ${metadata.runNumber}: ${problems.join('; ')}; reconstruct from the raw file instead`,
    );
}

export interface ReducedOutcome {
  event: ReducedEvent;
  outcome: ImageReconstruction;
}

/**
 * Reconstructs every event of a reduced file on the pool's threads, in file order: each image
 * restored (kept bins at their raw values, the rest at a level that is never a hit) and
 * reconstructed by the same code as a raw one. The event summaries are the full images' (kept
 * in the file; the spark flag re-decided with these parameters), as the rest of the image is
 * not there to measure them again.
 */
export async function* reconstructReduced(
  reduced: ReducedRun,
  pedestal: PedestalMap,
  parameters: RecoParameters,
  pool: ImagePool,
): AsyncGenerator<ReducedOutcome> {
  const { metadata } = reduced;
  checkReducible(metadata, parameters, pedestal);
  const reference = pedestalReference(pedestal, metadata.reference.nsigma);
  // The pool copies an image only once a thread is free: each image in flight needs its own
  // buffer, reused once its result is in (at most 2·threads are in flight).
  const images = Array.from(
    { length: 2 * pool.threads + 1 },
    () => new Uint16Array(metadata.image.width * metadata.image.height),
  );
  let next = 0;
  const pending: Array<{ event: ReducedEvent; outcome: Promise<ImageReconstruction> }> = [];
  const settle = async (next: (typeof pending)[number]): Promise<ReducedOutcome> => {
    const result = await next.outcome;
    const spark = next.event.summary.mean > parameters.sparkMean;
    return {
      event: next.event,
      outcome: {
        summary: { ...next.event.summary, spark },
        clusters: spark ? [] : result.clusters,
      },
    };
  };
  try {
    for (const event of reduced.events()) {
      const image = images[next++ % images.length];
      restoreImage(image, reference, event.roi, metadata.grid);
      const outcome = pool.reconstruct(image);
      outcome.catch(() => undefined);
      pending.push({ event, outcome });
      while (pending.length > 2 * pool.threads) yield await settle(pending.shift()!);
    }
    while (pending.length > 0) yield await settle(pending.shift()!);
  } finally {
    await Promise.allSettled(pending.map((p) => p.outcome));
  }
}
