import { gridDbscan } from './dbscan';
import { RecoInputError } from './errors';
import { clusterFeatures, type ClusterFeatures, type ClusterRegion } from './features';
import type { RecoParameters, Window } from './parameters';
import type { PedestalMap } from './pedestal';

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
}

const thresholdCache = new WeakMap<Float32Array, Map<number, Float32Array>>();

/** nsigma·σ per pixel, computed once per pedestal map and nsigma. */
function thresholds(pedestal: PedestalMap, nsigma: number): Float32Array {
  let byNsigma = thresholdCache.get(pedestal.sigma);
  if (!byNsigma) thresholdCache.set(pedestal.sigma, (byNsigma = new Map()));
  let map = byNsigma.get(nsigma);
  if (!map) {
    map = new Float32Array(pedestal.sigma.length);
    for (let i = 0; i < map.length; i++) map[i] = nsigma * pedestal.sigma[i];
    byNsigma.set(nsigma, map);
  }
  return map;
}

function acceptedWindow(window: Window | null, width: number, height: number): Window {
  if (!window) return { xMin: 0, xMax: width - 1, yMin: 0, yMax: height - 1 };
  const clipped = {
    xMin: Math.max(0, window.xMin),
    xMax: Math.min(width - 1, window.xMax),
    yMin: Math.max(0, window.yMin),
    yMax: Math.min(height - 1, window.yMax),
  };
  if (clipped.xMin > clipped.xMax || clipped.yMin > clipped.yMax)
    throw new RecoInputError(`acceptance window lies outside the ${width}×${height} image`);
  return clipped;
}

/** Checks that a camera image fits the pedestal map, before any work. */
export function checkImage(image: ArrayLike<number>, pedestal: PedestalMap): void {
  if (!(image instanceof Uint16Array))
    throw new RecoInputError(
      `camera image must be 16-bit unsigned, got ${image.constructor.name}`,
    );
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
  const rebinned = new Float32Array(binsWide * binsHigh);
  const binOfColumn = new Int32Array(windowWidth);
  for (let x = 0; x < windowWidth; x++) binOfColumn[x] = (x / rebin) | 0;

  // One pass over the pixels: everything per-pixel happens here.
  let sum = 0;
  let sumSquares = 0;
  let zsIntegral = 0;
  let hits = 0;
  let hot = 0;
  for (let y = window.yMin; y <= window.yMax; y++) {
    const rowBins = (((y - window.yMin) / rebin) | 0) * binsWide;
    const start = y * width + window.xMin;
    for (let x = 0, i = start; x < windowWidth; x++, i++) {
      const raw = image[i];
      if (raw >= cimax) {
        hot++;
        continue;
      }
      const value = raw - mean[i];
      sum += value;
      sumSquares += value * value;
      if (value > threshold[i]) {
        rebinned[rowBins + binOfColumn[x]] += value;
        zsIntegral += value;
        hits++;
      }
    }
  }
  const pixels = windowWidth * windowHeight - hot;
  const imageMean = pixels > 0 ? sum / pixels : 0;
  const summary: ImageSummary = {
    integral: zsIntegral,
    mean: imageMean,
    rms: pixels > 0 ? Math.sqrt(Math.max(0, sumSquares / pixels - imageMean * imageMean)) : 0,
    hits,
    hotPixels: hot,
    spark: imageMean > parameters.sparkMean,
  };
  if (summary.spark) return { summary, clusters: [] };

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
  return { summary, clusters };
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
  const counts = new Uint8Array(rebinned.length);
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
