import { imagePreview, type ImagePreview } from '../../reco/image/preview';
import type { PedestalMap } from '../../reco/image';

/**
 * Picks the images a reconstruction shows on the console: the first, then one every
 * `previewEveryMs` of wall time, so that a fast replay does not write thousands of pictures.
 * The preview is made when the image is offered, before a thread takes its buffer. An
 * interval of Infinity makes none at all.
 */
export class PreviewSampler<T> {
  private nextAt = 0;
  private readonly made = new Map<T, ImagePreview>();

  constructor(
    private readonly pedestal: PedestalMap,
    private readonly options: { previewEveryMs: number; previewRebin: number },
  ) {}

  offer(item: T, image: Uint16Array): void {
    if (this.options.previewEveryMs === Infinity) return;
    const now = Date.now();
    if (now < this.nextAt || image.length !== this.pedestal.width * this.pedestal.height) return;
    this.nextAt = now + this.options.previewEveryMs;
    this.made.set(item, imagePreview(image, this.pedestal, this.options.previewRebin));
  }

  /** The preview made for `item`, if any (once). */
  take(item: T): ImagePreview | undefined {
    const preview = this.made.get(item);
    this.made.delete(item);
    return preview;
  }
}
