/** The CYGNO `sc_*` quantities of one cluster, on full-resolution pixels. */
export interface ClusterFeatures {
  /** Sum of pedestal-subtracted values over the cluster's region (unbiased by the noise). */
  integral: number;
  /** Pixels above the zero-suppression threshold (in the clustered bins). */
  nhits: number;
  /** Pixels in the cluster's region. */
  size: number;
  /** Extent along the principal axis, and across it (pixels). */
  length: number;
  width: number;
  /** Angle of the principal axis from the x axis (radians, −π/2…π/2). */
  theta: number;
  xMean: number;
  yMean: number;
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
  /** RMS of the hits' intensities. */
  rms: number;
  longitudinalRms: number;
  transverseRms: number;
  /** Calibrated energy (keV). */
  energy: number;
}

/** The features in one fixed order: the columns of the clusters table and of the Arrow file. */
export const CLUSTER_FEATURE_NAMES = [
  'integral',
  'nhits',
  'size',
  'length',
  'width',
  'theta',
  'xMean',
  'yMean',
  'xMin',
  'xMax',
  'yMin',
  'yMax',
  'rms',
  'longitudinalRms',
  'transverseRms',
  'energy',
] as const satisfies ReadonlyArray<keyof ClusterFeatures>;

/** The pixels a cluster covers, and how to read them. */
export interface ClusterRegion {
  /**
   * Rebinned bin indices (bin = by·binsWide + bx): first the `coreBins` the clustering found,
   * then the ring grown around them to collect the tails of the light.
   */
  bins: number[];
  coreBins: number;
  binsWide: number;
  rebin: number;
  /** Full-resolution window the bins tile (inclusive). */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface PixelSource {
  image: Uint16Array;
  width: number;
  mean: Float32Array;
  threshold: Float32Array;
  cimax: number;
}

/** Visits every full-resolution pixel of the region with its pedestal-subtracted value. */
function forEachPixel(
  region: ClusterRegion,
  source: PixelSource,
  visit: (x: number, y: number, value: number, hit: boolean) => void,
): void {
  const { image, width, mean, threshold, cimax } = source;
  const { rebin, binsWide, x0, y0, x1, y1 } = region;
  for (let k = 0; k < region.bins.length; k++) {
    const bin = region.bins[k];
    // Hits count in the core only: the grown ring adds its light to the integral, but its
    // noise hits would stretch the shape.
    const core = k < region.coreBins;
    const bx = bin % binsWide;
    const by = (bin - bx) / binsWide;
    const xs = x0 + bx * rebin;
    const ys = y0 + by * rebin;
    const xe = Math.min(x1, xs + rebin - 1);
    const ye = Math.min(y1, ys + rebin - 1);
    for (let y = ys; y <= ye; y++) {
      for (let x = xs, i = y * width + xs; x <= xe; x++, i++) {
        const raw = image[i];
        const value = raw >= cimax ? 0 : raw - mean[i];
        visit(x, y, value, core && value > threshold[i]);
      }
    }
  }
}

/**
 * Features of one cluster. The integral sums every pixel of the region, so that noise averages
 * out instead of adding the positive bias zero suppression would; shape and position use the
 * hits only, weighted by intensity. Null when the cluster has fewer than `minHits` hits.
 */
export function clusterFeatures(
  region: ClusterRegion,
  source: PixelSource,
  minHits: number,
  adcPerKeV: number,
): ClusterFeatures | null {
  let integral = 0;
  let size = 0;
  let nhits = 0;
  let sw = 0;
  let swx = 0;
  let swy = 0;
  let swxx = 0;
  let swyy = 0;
  let swxy = 0;
  let sumSquares = 0;
  let xMin = Infinity;
  let xMax = -Infinity;
  let yMin = Infinity;
  let yMax = -Infinity;
  forEachPixel(region, source, (x, y, value, hit) => {
    integral += value;
    size++;
    if (!hit) return;
    nhits++;
    sw += value;
    swx += value * x;
    swy += value * y;
    swxx += value * x * x;
    swyy += value * y * y;
    swxy += value * x * y;
    sumSquares += value * value;
    if (x < xMin) xMin = x;
    if (x > xMax) xMax = x;
    if (y < yMin) yMin = y;
    if (y > yMax) yMax = y;
  });
  if (nhits < minHits || sw <= 0) return null;

  const xMean = swx / sw;
  const yMean = swy / sw;
  const cxx = swxx / sw - xMean * xMean;
  const cyy = swyy / sw - yMean * yMean;
  const cxy = swxy / sw - xMean * yMean;
  const half = (cxx + cyy) / 2;
  const spread = Math.sqrt(((cxx - cyy) / 2) ** 2 + cxy * cxy);
  const theta = 0.5 * Math.atan2(2 * cxy, cxx - cyy);
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);

  let along0 = Infinity;
  let along1 = -Infinity;
  let across0 = Infinity;
  let across1 = -Infinity;
  forEachPixel(region, source, (x, y, _value, hit) => {
    if (!hit) return;
    const along = (x - xMean) * cos + (y - yMean) * sin;
    const across = -(x - xMean) * sin + (y - yMean) * cos;
    if (along < along0) along0 = along;
    if (along > along1) along1 = along;
    if (across < across0) across0 = across;
    if (across > across1) across1 = across;
  });

  const meanHit = sw / nhits;
  return {
    integral,
    nhits,
    size,
    length: along1 - along0 + 1,
    width: across1 - across0 + 1,
    theta,
    xMean,
    yMean,
    xMin,
    xMax,
    yMin,
    yMax,
    rms: Math.sqrt(Math.max(0, sumSquares / nhits - meanHit * meanHit)),
    longitudinalRms: Math.sqrt(Math.max(0, half + spread)),
    transverseRms: Math.sqrt(Math.max(0, half - spread)),
    energy: integral / adcPerKeV,
  };
}
