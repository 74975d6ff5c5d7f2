import type { ReductionParameters } from './parameters';

/** The part of one camera image a reduced file keeps: whole rebinned bins of pixels. */
export interface RoiImage {
  /** Kept bins, ascending (bin = by·binsWide + bx over the acceptance window). */
  bins: Int32Array;
  /**
   * Their pixels, bin after bin, each bin row by row (bins on the window's right or bottom
   * edge may be partial): raw value minus the pixel's reference level (see `referenceLevels`).
   */
  pixels: Int16Array;
}

/** The grid the bins tile: the acceptance window and the rebinning. */
export interface BinGrid {
  rebin: number;
  binsWide: number;
  binsHigh: number;
  /** Full-resolution window, bounds inclusive. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Image width (pixels per row). */
  width: number;
}

/**
 * Which bins to keep: every bin of every cluster's region and every bin above the threshold,
 * each with its neighbours up to `marginBins` away (a square). `mark` is zeroed scratch of
 * binsWide·binsHigh bytes.
 */
export function roiBins(
  rebinned: Float32Array,
  regions: ReadonlyArray<{ bins: readonly number[] }>,
  grid: BinGrid,
  parameters: ReductionParameters,
  mark: Uint8Array,
): Int32Array {
  const { binsWide, binsHigh } = grid;
  const margin = parameters.marginBins;
  const kept: number[] = [];
  const keepAround = (bin: number) => {
    const bx = bin % binsWide;
    const by = (bin - bx) / binsWide;
    for (let y = Math.max(0, by - margin); y <= Math.min(binsHigh - 1, by + margin); y++)
      for (let x = Math.max(0, bx - margin); x <= Math.min(binsWide - 1, bx + margin); x++) {
        const n = y * binsWide + x;
        if (mark[n] === 0) {
          mark[n] = 1;
          kept.push(n);
        }
      }
  };
  for (const region of regions) for (const bin of region.bins) keepAround(bin);
  for (let b = 0; b < rebinned.length; b++)
    if (rebinned[b] > parameters.thresholdAdc) keepAround(b);
  kept.sort((a, b) => a - b);
  return Int32Array.from(kept);
}

/** The full-resolution rectangle of one bin, bounds inclusive (edge bins may be partial). */
function binRect(bin: number, grid: BinGrid): { xs: number; ys: number; xe: number; ye: number } {
  const bx = bin % grid.binsWide;
  const by = (bin - bx) / grid.binsWide;
  const xs = grid.x0 + bx * grid.rebin;
  const ys = grid.y0 + by * grid.rebin;
  return {
    xs,
    ys,
    xe: Math.min(grid.x1, xs + grid.rebin - 1),
    ye: Math.min(grid.y1, ys + grid.rebin - 1),
  };
}

/** Calls `visit(i)` with the image index of every pixel of the bins, in the file's order. */
export function forEachRoiPixel(
  bins: Int32Array,
  grid: BinGrid,
  visit: (imageIndex: number, k: number) => void,
): void {
  let k = 0;
  for (let j = 0; j < bins.length; j++) {
    const { xs, ys, xe, ye } = binRect(bins[j], grid);
    for (let y = ys; y <= ye; y++)
      for (let x = xs, i = y * grid.width + xs; x <= xe; x++, i++) visit(i, k++);
  }
}

const INT16_MAX = 32767;
const INT16_MIN = -32768;

/** The kept pixels of an image as raw − reference, clamped to 16 bits (hot pixels stay hot). */
export function roiPixels(
  image: Uint16Array,
  reference: Uint16Array,
  bins: Int32Array,
  grid: BinGrid,
): Int16Array {
  let count = 0;
  for (let j = 0; j < bins.length; j++) {
    const { xs, ys, xe, ye } = binRect(bins[j], grid);
    count += (xe - xs + 1) * (ye - ys + 1);
  }
  const pixels = new Int16Array(count);
  forEachRoiPixel(bins, grid, (i, k) => {
    const value = image[i] - reference[i];
    pixels[k] = value > INT16_MAX ? INT16_MAX : value < INT16_MIN ? INT16_MIN : value;
  });
  return pixels;
}

/**
 * Writes a reduced image back into a full one: every pixel outside the kept bins at its
 * reference level (never a hit), the kept ones at reference + value — the raw value itself.
 */
export function restoreImage(
  target: Uint16Array,
  reference: Uint16Array,
  roi: RoiImage,
  grid: BinGrid,
): void {
  target.set(reference);
  forEachRoiPixel(roi.bins, grid, (i, k) => {
    const raw = reference[i] + roi.pixels[k];
    target[i] = raw < 0 ? 0 : raw > 65535 ? 65535 : raw;
  });
}

/**
 * Each pixel's reference level: its pedestal mean rounded, but never above its zero-suppression
 * cut, so that a pixel outside the kept bins, restored at this level, is never a hit for these
 * thresholds or any higher ones. `cut` is floor(mean + nsigma·σ).
 */
export function referenceLevels(mean: Float32Array, cut: Uint16Array): Uint16Array {
  const reference = new Uint16Array(mean.length);
  for (let i = 0; i < mean.length; i++)
    reference[i] = Math.min(cut[i], Math.max(0, Math.round(mean[i])));
  return reference;
}
