import { cameraImageOf } from '../cameraBank';
import { RecoInputError } from '../image/errors';
import type { ImageReconstruction } from '../image/reconstruct';
import type { MidasEvent } from '../midas';
import type { ImagePool } from './ImagePool';

export interface ReconstructedEvent<T> {
  item: T;
  event: MidasEvent;
  /** The reconstruction, or why the image could not be used (wrong size or type). */
  outcome: ImageReconstruction | RecoInputError;
}

/**
 * Reconstructs the camera images of a stream of events on the pool's threads and yields the
 * results in stream order. Events without the camera bank are skipped. Enough images are kept
 * in flight to keep every thread busy, and no more: memory stays flat on any file. Each image
 * is handed over to the pool before the next event is read, so the events may come from a
 * reader that reuses its buffer (ReadOptions.reuseBuffer). Errors other than bad input (a
 * thread crash) end the stream.
 */
export async function* reconstructEvents<T extends { event: MidasEvent }>(
  items: AsyncIterable<T>,
  pool: ImagePool,
  cameraBank: string,
  /** Sees each image before a thread takes it (the buffer may be handed over afterwards). */
  onImage?: (item: T, image: Uint16Array) => void,
  /** A reconstruction already made of this item's image (it is then not read nor redone). */
  known?: (item: T) => ImageReconstruction | undefined,
): AsyncGenerator<ReconstructedEvent<T>> {
  const pending: Array<{ item: T; outcome: Promise<ImageReconstruction | RecoInputError> }> = [];
  try {
    for await (const item of items) {
      if (item.event.kind !== 'DATA') continue;
      let outcome: Promise<ImageReconstruction | RecoInputError>;
      const already = known?.(item);
      if (already) {
        outcome = Promise.resolve(already);
      } else {
        try {
          const image = cameraImageOf(item.event, cameraBank);
          if (!image) continue;
          onImage?.(item, image);
          // Handed over before the next event is read: the reader may reuse the event's buffer.
          const { result } = await pool.submit(image);
          outcome = result.catch((error: Error) => {
            if (error instanceof RecoInputError) return error;
            throw error;
          });
        } catch (error) {
          if (!(error instanceof RecoInputError)) throw error;
          outcome = Promise.resolve(error);
        }
      }
      outcome.catch(() => undefined); // awaited in order below; never unhandled meanwhile
      pending.push({ item, outcome });
      while (pending.length > 2 * pool.threads) {
        const next = pending.shift()!;
        yield { item: next.item, event: next.item.event, outcome: await next.outcome };
      }
    }
    while (pending.length > 0) {
      const next = pending.shift()!;
      yield { item: next.item, event: next.item.event, outcome: await next.outcome };
    }
  } finally {
    await Promise.allSettled(pending.map((p) => p.outcome));
  }
}
