/** A configured range for a DQ metric; outside it, the subsystem gets `status` and an alarm. */
export interface DqBand {
  metric: string;
  subsystem: string;
  min?: number;
  max?: number;
  status: 'BAD' | 'QUESTIONABLE';
  severity: 'INFO' | 'WARNING' | 'CRITICAL';
}

export interface BandViolation {
  band: DqBand;
  value: number;
  message: string;
}

/** Defaults for a CYGNO-like camera (noise ≈ 2–3 ADC, pedestal stable to an ADC). */
export const DEFAULT_DQ_BANDS: readonly DqBand[] = Object.freeze([
  { metric: 'pedestalNoise', subsystem: 'camera', max: 4, status: 'BAD', severity: 'CRITICAL' },
  {
    metric: 'pedestalDrift',
    subsystem: 'camera',
    min: -1.5,
    max: 1.5,
    status: 'QUESTIONABLE',
    severity: 'WARNING',
  },
  {
    metric: 'sparkFraction',
    subsystem: 'camera',
    max: 0.1,
    status: 'QUESTIONABLE',
    severity: 'WARNING',
  },
  { metric: 'badImageFraction', subsystem: 'camera', max: 0, status: 'BAD', severity: 'CRITICAL' },
]);

/** Parses DQ_BANDS: a JSON array of bands; throws naming the first bad entry. */
export function parseDqBands(text: string): DqBand[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('expected a JSON array of bands');
  return parsed.map((band: Partial<DqBand>, i) => {
    const where = `band ${i}`;
    if (typeof band?.metric !== 'string' || typeof band.subsystem !== 'string')
      throw new Error(`${where}: metric and subsystem are required strings`);
    for (const key of ['min', 'max'] as const)
      if (band[key] !== undefined && !Number.isFinite(band[key]))
        throw new Error(`${where}: ${key} must be a number`);
    if (band.min === undefined && band.max === undefined)
      throw new Error(`${where}: give min, max or both`);
    if (band.status !== 'BAD' && band.status !== 'QUESTIONABLE')
      throw new Error(`${where}: status must be BAD or QUESTIONABLE`);
    const severity = band.severity ?? (band.status === 'BAD' ? 'CRITICAL' : 'WARNING');
    if (!['INFO', 'WARNING', 'CRITICAL'].includes(severity))
      throw new Error(`${where}: severity must be INFO, WARNING or CRITICAL`);
    return { ...band, severity } as DqBand;
  });
}

/** The bands the metrics fall outside of. Metrics without a value are not judged. */
export function checkBands(
  metrics: Readonly<Record<string, number | null>>,
  bands: readonly DqBand[],
): BandViolation[] {
  const violations: BandViolation[] = [];
  for (const band of bands) {
    const value = metrics[band.metric];
    if (value == null || !Number.isFinite(value)) continue;
    const low = band.min !== undefined && value < band.min;
    const high = band.max !== undefined && value > band.max;
    if (!low && !high) continue;
    const limit = low ? `below ${band.min}` : `above ${band.max}`;
    violations.push({ band, value, message: `${band.metric} = ${round(value)} is ${limit}` });
  }
  return violations;
}

/** The subsystems the bands judge, with their AUTO verdict: the worst violation, else GOOD. */
export function subsystemVerdicts(
  metrics: Readonly<Record<string, number | null>>,
  bands: readonly DqBand[],
  violations: readonly BandViolation[],
): Map<string, { status: 'GOOD' | 'BAD' | 'QUESTIONABLE'; reasons: string[] }> {
  const verdicts = new Map<
    string,
    { status: 'GOOD' | 'BAD' | 'QUESTIONABLE'; reasons: string[] }
  >();
  for (const band of bands)
    if (metrics[band.metric] != null && !verdicts.has(band.subsystem))
      verdicts.set(band.subsystem, { status: 'GOOD', reasons: [] });
  for (const { band, message } of violations) {
    const verdict = verdicts.get(band.subsystem)!;
    if (band.status === 'BAD' || verdict.status === 'GOOD') verdict.status = band.status;
    verdict.reasons.push(message);
  }
  return verdicts;
}

function round(value: number): string {
  return Number(value.toPrecision(4)).toString();
}
