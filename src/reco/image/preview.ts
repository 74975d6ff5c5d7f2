import type { PedestalMap } from './pedestal';

/** A small 8-bit picture of a camera image, for the live event display. */
export interface ImagePreview {
  width: number;
  height: number;
  /** Full-resolution pixels per preview pixel along each axis. */
  rebin: number;
  pixels: Uint8Array;
}

/**
 * Pedestal-subtracted block means of an image, scaled so that noise is black and the brightest
 * 0.1 % saturate: spots and tracks stand out at any gain. Hot pixels are clipped by the same
 * percentile, so one of them cannot turn the rest of the picture black.
 */
export function imagePreview(
  image: Uint16Array,
  pedestal: PedestalMap,
  rebin: number,
): ImagePreview {
  const { width, height } = pedestal;
  const w = Math.floor(width / rebin);
  const h = Math.floor(height / rebin);
  const means = new Float32Array(w * h);
  const area = rebin * rebin;
  for (let by = 0; by < h; by++) {
    for (let y = by * rebin; y < (by + 1) * rebin; y++) {
      const row = y * width;
      for (let bx = 0; bx < w; bx++) {
        let sum = 0;
        const start = row + bx * rebin;
        for (let i = start; i < start + rebin; i++) sum += image[i] - pedestal.mean[i];
        means[by * w + bx] += sum;
      }
    }
  }
  for (let i = 0; i < means.length; i++) means[i] = Math.max(0, means[i] / area);
  const sorted = Float32Array.from(means).sort();
  const top = Math.max(sorted[Math.floor(0.999 * (sorted.length - 1))], 1);
  const pixels = new Uint8Array(w * h);
  for (let i = 0; i < means.length; i++)
    pixels[i] = Math.min(255, Math.round((means[i] / top) * 255));
  return { width: w, height: h, rebin, pixels };
}
