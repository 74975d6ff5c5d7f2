/**
 * How much of each camera image a reduced file keeps (issue 20). Measured in rebinned bins (the
 * clustering's own grid), so that what is kept follows the light — a diagonal track keeps a
 * band around itself, not its bounding box, which would hold most of the image.
 */
export interface ReductionParameters {
  /**
   * Bins kept around every cluster's region and every bin above `thresholdAdc`. At least
   * eps + 1, so that every clustering point within DBSCAN's reach of a cluster, and the
   * median-filter neighbourhood of each, is kept: then the same parameters find the same
   * clusters in the reduced image as in the raw one.
   */
  marginBins: number;
  /**
   * Bins whose zero-suppressed sum exceeds this (ADC) are kept too, clustered or not: faint
   * light a later parameter set might cluster. Lower keeps more (bigger files).
   */
  thresholdAdc: number;
}

export const REDUCTION_DEFAULTS: Readonly<ReductionParameters> = Object.freeze({
  marginBins: 3,
  thresholdAdc: 100,
});

/** Checks and completes reduction parameters (JSON overrides of the defaults). */
export function reductionParameters(
  overrides: Record<string, unknown>,
): { parameters: ReductionParameters } | { problems: string[] } {
  const problems: string[] = [];
  const parameters = { ...REDUCTION_DEFAULTS } as ReductionParameters;
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in REDUCTION_DEFAULTS)) {
      problems.push(`unknown reduction parameter "${key}"`);
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      problems.push(`${key}: expected a number >= 0`);
      continue;
    }
    if (key === 'marginBins' && !Number.isInteger(value)) {
      problems.push('marginBins: expected an integer');
      continue;
    }
    (parameters as unknown as Record<string, number>)[key] = value;
  }
  return problems.length > 0 ? { problems } : { parameters };
}
