import { RecoInputError } from './errors';

/** A rectangle of full-resolution pixels, bounds inclusive. */
export interface Window {
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/**
 * Every knob of the camera reconstruction. Defaults follow CYGNO's offline configuration
 * (rebin 4, cimax 5000, nsigma 1.3); the clustering thresholds are tuned on the simulator's
 * CYGNO-like noise (σ ≈ 2.5 ADC). `version` names the parameter set: results are stored per
 * version, so changing any value should come with a new version.
 */
export interface RecoParameters {
  version: number;
  /** Zero suppression: a pixel is a hit when above nsigma·σ of its pedestal. */
  nsigma: number;
  /** Raw values at or above this are hot pixels, zeroed (ADC). */
  cimax: number;
  /** An image whose mean pedestal-subtracted value exceeds this is a spark (ADC per pixel). */
  sparkMean: number;
  /** Only pixels inside are used; null: the whole image. */
  acceptance: Window | null;
  /** Side of the square of pixels summed into one clustering point. */
  rebin: number;
  /**
   * Noise reduction: a rebinned bin is a clustering point when the 3×3 median of the rebinned
   * zero-suppressed image is above this (ADC). Counted, not sorted: the median of n values is
   * above t exactly when more than half of them are.
   */
  pointThreshold: number;
  /** DBSCAN radius in rebinned bins, city-block metric. */
  eps: number;
  /** DBSCAN core condition: summed weight of the neighbourhood (itself included). */
  minSamples: number;
  /** Point weight = rebinned intensity / weightUnit (ADC); 0 weighs every point 1. */
  weightUnit: number;
  /** Clusters with fewer full-resolution hits are dropped. */
  minHits: number;
  /** Energy calibration: energy (keV) = integral / adcPerKeV. */
  adcPerKeV: number;
}

export const CYGNO_DEFAULTS: Readonly<RecoParameters> = Object.freeze({
  version: 1,
  nsigma: 1.3,
  cimax: 5000,
  sparkMean: 3,
  acceptance: null,
  rebin: 4,
  pointThreshold: 25,
  eps: 2,
  minSamples: 4,
  weightUnit: 25,
  minHits: 10,
  // A 5.9 keV ⁵⁵Fe spot gives about 10⁴ ADC in LIME; per-detector calibration overrides it.
  adcPerKeV: 1700,
});

const POSITIVE: Array<keyof RecoParameters> = [
  'nsigma',
  'cimax',
  'sparkMean',
  'rebin',
  'pointThreshold',
  'eps',
  'minSamples',
  'adcPerKeV',
];

/**
 * Merges overrides (parsed JSON, e.g. from RECO_PARAMETERS) onto the defaults; returns the
 * parameters or the list of problems, each naming the key.
 */
export function recoParameters(
  overrides: Record<string, unknown> = {},
): { parameters: RecoParameters } | { problems: string[] } {
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...CYGNO_DEFAULTS };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in CYGNO_DEFAULTS)) {
      problems.push(`unknown parameter "${key}"`);
      continue;
    }
    merged[key] = value;
  }
  for (const key of POSITIVE) {
    const value = merged[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      problems.push(`${key}: expected a positive number, got ${JSON.stringify(value)}`);
  }
  for (const key of ['version', 'rebin', 'eps', 'minHits'] as const) {
    if (!Number.isInteger(merged[key]) || (merged[key] as number) < 0)
      problems.push(`${key}: expected a non-negative integer, got ${JSON.stringify(merged[key])}`);
  }
  if (typeof merged.weightUnit !== 'number' || !(merged.weightUnit >= 0))
    problems.push(`weightUnit: expected a number ≥ 0, got ${JSON.stringify(merged.weightUnit)}`);
  const window = merged.acceptance as Window | null;
  if (window !== null) {
    const ok =
      typeof window === 'object' &&
      (['xMin', 'xMax', 'yMin', 'yMax'] as const).every((k) => Number.isInteger(window[k])) &&
      window.xMin <= window.xMax &&
      window.yMin <= window.yMax;
    if (!ok)
      problems.push('acceptance: expected null or {xMin, xMax, yMin, yMax} integers, min ≤ max');
  }
  if (problems.length > 0) return { problems };
  return { parameters: merged as unknown as RecoParameters };
}

/** The acceptance window clipped to the image; refused when it lies outside. */
export function acceptedWindow(window: Window | null, width: number, height: number): Window {
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
