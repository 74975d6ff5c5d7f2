import { gridDbscan } from './dbscan';
import { RecoInputError } from './errors';
import { clusterFeatures, type ClusterFeatures, type ClusterRegion } from './features';
import { acceptedWindow, type RecoParameters, type Window } from './parameters';
import type { PedestalMap } from './pedestal';
import type { ReductionParameters } from '../reduction/parameters';
import { referenceLevels, roiBins, roiPixels, type RoiImage } from '../reduction/roi';

/** Per-image numbers (the event summary). */
export interface ImageSummary {
  /** Sum of the zero-suppressed, pedestal-subtracted image (ADC). */
  integral: number;
  /** Mean and RMS of the pedestal-subtracted image over the accepted pixels (ADC). */
  mean: number;
  rms: number;
  /** Pixels above the zero-suppression threshold. */
  hits: number;
  hotPixels: number;
  spark: boolean;
}

export interface ImageReconstruction {
  summary: ImageSummary;
  clusters: ClusterFeatures[];
  /** The region of interest a reduced file keeps (asked for with reduction parameters). */
  roi?: RoiImage;
}

/**
 * Zeroed working arrays, reused from call to call. Fresh large typed arrays are fresh pages
 * from the kernel, and page faults serialise threads on the process's memory map: reusing
 * them is what lets two reconstruction threads run at twice the speed of one.
 */
const scratch = {
  floatBuffer: new Float32Array(0),
  byteBuffer: new Uint8Array(0),
  floats(length: number): Float32Array {
    if (this.floatBuffer.length < length) this.floatBuffer = new Float32Array(length);
    const view = this.floatBuffer.subarray(0, length);
    view.fill(0);
    return view;
  },
  bytes(length: number): Uint8Array {
    if (this.byteBuffer.length < length) this.byteBuffer = new Uint8Array(length);
    const view = this.byteBuffer.subarray(0, length);
    view.fill(0);
    return view;
  },
};

/** Rows of the image whose every pixel enters the image RMS: one in RMS_ROW_STRIDE. */
const RMS_ROW_STRIDE = 8;

// Derived per-pixel maps, computed once per pedestal map (keyed on its arrays).
const thresholdCache = new WeakMap<Float32Array, Map<number, Float32Array>>();
const cutCache = new WeakMap<Float32Array, Map<number, CutMap>>();
const meanSumCache = new WeakMap<Float32Array, Map<string, number>>();
const referenceCache = new WeakMap<Float32Array, Map<number, Uint16Array>>();

function cached<K extends object, V>(
  cache: WeakMap<K, Map<number | string, V>>,
  owner: K,
  key: number | string,
  make: () => V,
): V {
  let byKey = cache.get(owner);
  if (!byKey) cache.set(owner, (byKey = new Map()));
  let value = byKey.get(key);
  if (value === undefined) byKey.set(key, (value = make()));
  return value;
}

/** Typed-array storage shared with other threads when the pedestal map itself is shared. */
function storageLike(pedestal: PedestalMap, bytes: number): ArrayBuffer | SharedArrayBuffer {
  return pedestal.mean.buffer instanceof SharedArrayBuffer
    ? new SharedArrayBuffer(bytes)
    : new ArrayBuffer(bytes);
}

/** nsigma·σ per pixel. (Plain loops here and in `cuts`: a callback per pixel costs each
 * reconstruction thread a tenth of a second at start.) */
function thresholds(pedestal: PedestalMap, nsigma: number): Float32Array {
  return cached(thresholdCache, pedestal.sigma, nsigma, () => {
    const { sigma } = pedestal;
    const threshold = new Float32Array(storageLike(pedestal, 4 * sigma.length));
    for (let i = 0; i < sigma.length; i++) threshold[i] = nsigma * sigma[i];
    return threshold;
  });
}

/**
 * The largest raw value that is not a hit, floor(mean + nsigma·σ) per pixel, stored as one byte
 * above the smallest cut: a pass then streams 1 byte of map per pixel instead of 2 (memory
 * traffic is what two threads share). A pixel whose cut lies 255 or more above the base (a hot
 * or very noisy pixel) is marked 255 and compared against its exact cut.
 */
interface CutMap {
  base: number;
  offset: Uint8Array;
  exact: Uint16Array;
}

const CUT_OVERFLOW = 255;

function cuts(pedestal: PedestalMap, nsigma: number): CutMap {
  return cached(cutCache, pedestal.mean, nsigma, () => {
    const threshold = thresholds(pedestal, nsigma);
    const { mean } = pedestal;
    const exact = new Uint16Array(storageLike(pedestal, 2 * mean.length));
    let base = 65535;
    for (let i = 0; i < exact.length; i++) {
      const cut = Math.floor(mean[i] + threshold[i]);
      const clamped = cut < 0 ? 0 : cut > 65535 ? 65535 : cut;
      exact[i] = clamped;
      if (clamped < base) base = clamped;
    }
    const offset = new Uint8Array(storageLike(pedestal, exact.length));
    for (let i = 0; i < exact.length; i++) {
      const above = exact[i] - base;
      offset[i] = above < CUT_OVERFLOW ? above : CUT_OVERFLOW;
    }
    return { base, offset, exact };
  });
}

/** The per-pixel maps derived from a pedestal map for one nsigma, worked out once per map. */
export interface DerivedMaps {
  nsigma: number;
  threshold: Float32Array;
  cut: CutMap;
}

/**
 * The derived maps of a (shared) pedestal map, for `adoptDerivedMaps` in reconstruction
 * threads: worked out once for the pool instead of once per thread (0.1–0.2 s of each thread's
 * first image, with both threads at it together on a 2-core machine).
 */
export function derivedMaps(pedestal: PedestalMap, nsigma: number): DerivedMaps {
  return { nsigma, threshold: thresholds(pedestal, nsigma), cut: cuts(pedestal, nsigma) };
}

/** Takes maps from `derivedMaps` of the same pedestal map, so this thread need not redo them. */
export function adoptDerivedMaps(pedestal: PedestalMap, maps: DerivedMaps): void {
  cached(thresholdCache, pedestal.sigma, maps.nsigma, () => maps.threshold);
  cached(cutCache, pedestal.mean, maps.nsigma, () => maps.cut);
}

/** Reference levels of the reduced image for these thresholds (see `referenceLevels`). */
export function pedestalReference(pedestal: PedestalMap, nsigma: number): Uint16Array {
  return cached(referenceCache, pedestal.mean, nsigma, () =>
    referenceLevels(pedestal.mean, cuts(pedestal, nsigma).exact),
  );
}

/** Sum of the pedestal means over the window. */
function windowMeanSum(pedestal: PedestalMap, window: Window): number {
  const key = `${window.xMin},${window.xMax},${window.yMin},${window.yMax}`;
  return cached(meanSumCache, pedestal.mean, key, () => {
    let sum = 0;
    for (let y = window.yMin; y <= window.yMax; y++)
      for (let x = window.xMin, i = y * pedestal.width + x; x <= window.xMax; x++, i++)
        sum += pedestal.mean[i];
    return sum;
  });
}

/** Checks that a camera image fits the pedestal map, before any work. */
export function checkImage(image: ArrayLike<number>, pedestal: PedestalMap): void {
  if (!(image instanceof Uint16Array))
    throw new RecoInputError(`camera image must be 16-bit unsigned, got ${image.constructor.name}`);
  const expected = pedestal.width * pedestal.height;
  if (image.length !== expected) {
    throw new RecoInputError(
      `camera image has ${image.length} pixels, the pedestal map ${pedestal.width}×${pedestal.height} = ${expected}`,
    );
  }
}

/**
 * The CYGNO camera reconstruction of one image (DESIGN §7): hot pixels zeroed, pedestal
 * subtracted, zero suppression at nsigma·σ, acceptance window and rebinning in one pass over
 * the pixels; a counting 3×3 median filter on the rebinned image picks the clustering points;
 * weighted city-block DBSCAN groups them; each cluster grows by one bin to take in its tails
 * and is measured on the full-resolution pixels. Sparks are flagged and not clustered. Pure:
 * the same inputs give the same output, nothing is kept between calls but a threshold cache.
 */
export function reconstructImage(
  image: Uint16Array,
  pedestal: PedestalMap,
  parameters: RecoParameters,
  /** Also cut out the region of interest for a reduced file (none for a spark). */
  reduction?: ReductionParameters,
): ImageReconstruction {
  checkImage(image, pedestal);
  const { width, height, mean } = pedestal;
  const threshold = thresholds(pedestal, parameters.nsigma);
  const { cimax, rebin } = parameters;
  const window = acceptedWindow(parameters.acceptance, width, height);
  const windowWidth = window.xMax - window.xMin + 1;
  const windowHeight = window.yMax - window.yMin + 1;
  const binsWide = Math.ceil(windowWidth / rebin);
  const binsHigh = Math.ceil(windowHeight / rebin);
  const rebinned = scratch.floats(binsWide * binsHigh);
  const binOfColumn = new Int32Array(windowWidth);
  for (let x = 0; x < windowWidth; x++) binOfColumn[x] = (x / rebin) | 0;

  // One pass over the pixels: everything per-pixel happens here (see `passRow`).
  const cut = cuts(pedestal, parameters.nsigma);
  const totals = newPixelTotals();
  for (let y = window.yMin; y <= window.yMax; y++) {
    passRow(
      image,
      mean,
      cut,
      cimax,
      y * width + window.xMin,
      windowWidth,
      (y - window.yMin) % RMS_ROW_STRIDE === 0,
      rebinned,
      (((y - window.yMin) / rebin) | 0) * binsWide,
      binOfColumn,
      totals,
    );
  }
  const { rawSum, hotMeanSum, sampledSum, sampledSquares, sampled, zsIntegral, hits, hot } = totals;
  const pixels = windowWidth * windowHeight - hot;
  const imageMean =
    pixels > 0 ? (rawSum - (windowMeanSum(pedestal, window) - hotMeanSum)) / pixels : 0;
  const sampledMean = sampled > 0 ? sampledSum / sampled : 0;
  const imageRms =
    sampled > 0 ? Math.sqrt(Math.max(0, sampledSquares / sampled - sampledMean * sampledMean)) : 0;
  const summary: ImageSummary = {
    integral: zsIntegral,
    mean: imageMean,
    rms: imageRms,
    hits,
    hotPixels: hot,
    spark: imageMean > parameters.sparkMean,
  };
  if (summary.spark)
    return reduction
      ? { summary, clusters: [], roi: { bins: new Int32Array(0), pixels: new Int16Array(0) } }
      : { summary, clusters: [] };

  const points = medianPoints(rebinned, binsWide, binsHigh, parameters.pointThreshold);
  const weights = new Float32Array(points.length);
  for (let k = 0; k < points.length; k++)
    weights[k] = parameters.weightUnit > 0 ? rebinned[points[k]] / parameters.weightUnit : 1;
  const labels = gridDbscan(
    { width: binsWide, height: binsHigh, bins: points, weights },
    parameters.eps,
    parameters.minSamples,
  );
  const regions = grownRegions(points, labels, binsWide, binsHigh);

  const source = { image, width, mean, threshold, cimax };
  const clusters: ClusterFeatures[] = [];
  let roi: RoiImage | undefined;
  if (reduction) {
    const grid = {
      rebin,
      binsWide,
      binsHigh,
      x0: window.xMin,
      y0: window.yMin,
      x1: window.xMax,
      y1: window.yMax,
      width,
    };
    const bins = roiBins(rebinned, regions, grid, reduction, scratch.bytes(rebinned.length));
    roi = {
      bins,
      pixels: roiPixels(image, pedestalReference(pedestal, parameters.nsigma), bins, grid),
    };
  }
  for (const { bins, coreBins } of regions) {
    const region: ClusterRegion = {
      bins,
      coreBins,
      binsWide,
      rebin,
      x0: window.xMin,
      y0: window.yMin,
      x1: window.xMax,
      y1: window.yMax,
    };
    const features = clusterFeatures(region, source, parameters.minHits, parameters.adcPerKeV);
    if (features) clusters.push(features);
  }
  return roi ? { summary, clusters, roi } : { summary, clusters };
}

/** What the pixel pass adds up over the image. */
interface PixelTotals {
  rawSum: number;
  hotMeanSum: number;
  sampledSum: number;
  sampledSquares: number;
  sampled: number;
  zsIntegral: number;
  hits: number;
  hot: number;
}

function newPixelTotals(): PixelTotals {
  return {
    rawSum: 0,
    hotMeanSum: 0,
    sampledSum: 0,
    sampledSquares: 0,
    sampled: 0,
    zsIntegral: 0,
    hits: 0,
    hot: 0,
  };
}

/**
 * The pixel pass over one row of the acceptance window. A pixel is a hit when its raw value
 * exceeds the integer cut floor(mean + nsigma·σ), so most pixels cost a 16-bit and an 8-bit
 * read; the pedestal mean is read for hits, and for every pixel of one row in RMS_ROW_STRIDE,
 * which is where the image RMS is measured (0.66 M pixels of a CYGNO image: plenty for a
 * noise figure).
 *
 * A function per row, not a loop in `reconstructImage`, for the compiler's sake: called 2,304
 * times per image it is optimised whole within the first image, whereas a loop inside a function
 * called once per image runs on on-stack-replacement code, which was 1.6× slower here for the
 * first sixteen or so images (more than a 20-image run, or one thread's share of it, ever sees).
 */
function passRow(
  image: Uint16Array,
  mean: Float32Array,
  cut: CutMap,
  cimax: number,
  start: number,
  length: number,
  sampleRow: boolean,
  rebinned: Float32Array,
  rowBins: number,
  binOfColumn: Int32Array,
  totals: PixelTotals,
): void {
  const { base, offset, exact } = cut;
  // Carried on from the rows before, not summed per row: the sums keep the pixel order.
  let { rawSum, hotMeanSum, sampledSum, sampledSquares, sampled, zsIntegral, hits, hot } = totals;
  for (let x = 0, i = start; x < length; x++, i++) {
    const raw = image[i];
    if (raw >= cimax) {
      hot++;
      hotMeanSum += mean[i];
      continue;
    }
    rawSum += raw;
    if (sampleRow) {
      const value = raw - mean[i];
      sampledSum += value;
      sampledSquares += value * value;
      sampled++;
    }
    const above = offset[i];
    if (raw - base > above && (above !== CUT_OVERFLOW || raw > exact[i])) {
      const value = raw - mean[i];
      rebinned[rowBins + binOfColumn[x]] += value;
      zsIntegral += value;
      hits++;
    }
  }
  totals.rawSum = rawSum;
  totals.hotMeanSum = hotMeanSum;
  totals.sampledSum = sampledSum;
  totals.sampledSquares = sampledSquares;
  totals.sampled = sampled;
  totals.zsIntegral = zsIntegral;
  totals.hits = hits;
  totals.hot = hot;
}

/**
 * Bins whose 3×3 neighbourhood (clipped at the border) has more than half of its bins above
 * `threshold` — i.e. whose median-filtered value is above it — found by counting from the
 * bins above threshold only, so the cost follows the signal, not the image size.
 */
function medianPoints(
  rebinned: Float32Array,
  binsWide: number,
  binsHigh: number,
  threshold: number,
): Int32Array {
  const counts = scratch.bytes(rebinned.length);
  const touched: number[] = [];
  for (let b = 0; b < rebinned.length; b++) {
    if (!(rebinned[b] > threshold)) continue;
    const bx = b % binsWide;
    const by = (b - bx) / binsWide;
    for (let y = Math.max(0, by - 1); y <= Math.min(binsHigh - 1, by + 1); y++) {
      for (let x = Math.max(0, bx - 1); x <= Math.min(binsWide - 1, bx + 1); x++) {
        const n = y * binsWide + x;
        if (counts[n]++ === 0) touched.push(n);
      }
    }
  }
  const points: number[] = [];
  for (const n of touched) {
    const bx = n % binsWide;
    const by = (n - bx) / binsWide;
    const across = (bx > 0 ? 1 : 0) + 1 + (bx < binsWide - 1 ? 1 : 0);
    const down = (by > 0 ? 1 : 0) + 1 + (by < binsHigh - 1 ? 1 : 0);
    if (2 * counts[n] > across * down) points.push(n);
  }
  points.sort((a, b) => a - b); // deterministic cluster order: top-left first
  return Int32Array.from(points);
}

/** The bins of each cluster, grown by one bin (8-neighbourhood) into bins nobody owns. */
function grownRegions(
  points: Int32Array,
  labels: Int32Array,
  binsWide: number,
  binsHigh: number,
): Array<{ bins: number[]; coreBins: number }> {
  const count = labels.reduce((max, label) => Math.max(max, label + 1), 0);
  const regions: number[][] = Array.from({ length: count }, () => []);
  const owner = new Map<number, number>();
  for (let k = 0; k < points.length; k++) {
    if (labels[k] < 0) continue;
    regions[labels[k]].push(points[k]);
    owner.set(points[k], labels[k]);
  }
  const coreSizes = regions.map((bins) => bins.length);
  for (let c = 0; c < count; c++) {
    for (const bin of regions[c].slice()) {
      const bx = bin % binsWide;
      const by = (bin - bx) / binsWide;
      for (let y = Math.max(0, by - 1); y <= Math.min(binsHigh - 1, by + 1); y++) {
        for (let x = Math.max(0, bx - 1); x <= Math.min(binsWide - 1, bx + 1); x++) {
          const n = y * binsWide + x;
          if (owner.has(n)) continue;
          owner.set(n, c);
          regions[c].push(n);
        }
      }
    }
  }
  return regions.map((bins, c) => ({ bins, coreBins: coreSizes[c] }));
}
