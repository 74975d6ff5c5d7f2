import { describe, expect, it } from 'vitest';
import {
  checkBands,
  DEFAULT_DQ_BANDS,
  fitGaussianPeak,
  parseDqBands,
  subsystemVerdicts,
} from '../../src/reco/dq';
import { Random } from '../../src/reco/simulation';

describe('⁵⁵Fe peak fit', () => {
  it('finds a Gaussian line on a flat background', () => {
    const random = new Random(3);
    const values: number[] = [];
    for (let i = 0; i < 2000; i++) values.push(10_000 + 1_200 * random.gaussian());
    for (let i = 0; i < 1000; i++) values.push(random.uniform(2_000, 30_000)); // background
    const peak = fitGaussianPeak(values, 2_000, 30_000)!;
    expect(Math.abs(peak.mean - 10_000)).toBeLessThan(100);
    expect(Math.abs(peak.sigma - 1_200) / 1_200).toBeLessThan(0.12);
  });

  it('gives no peak with too few entries in the window', () => {
    expect(fitGaussianPeak([5_000, 6_000, 50_000], 2_000, 30_000)).toBeNull();
  });
});

describe('DQ bands', () => {
  it('judges metrics into AUTO verdicts per subsystem, the worst band winning', () => {
    const metrics = { pedestalNoise: 5.2, sparkFraction: 0.3, pedestalDrift: null };
    const violations = checkBands(metrics, DEFAULT_DQ_BANDS);
    expect(violations.map((v) => v.message)).toEqual([
      'pedestalNoise = 5.2 is above 4',
      'sparkFraction = 0.3 is above 0.1',
    ]);
    const verdicts = subsystemVerdicts(metrics, DEFAULT_DQ_BANDS, violations);
    expect(verdicts.get('camera')).toEqual({
      status: 'BAD',
      reasons: ['pedestalNoise = 5.2 is above 4', 'sparkFraction = 0.3 is above 0.1'],
    });
    expect(subsystemVerdicts({ sparkFraction: 0 }, DEFAULT_DQ_BANDS, []).get('camera')).toEqual({
      status: 'GOOD',
      reasons: [],
    });
    expect(subsystemVerdicts({}, DEFAULT_DQ_BANDS, []).size).toBe(0); // nothing measured, no verdict
  });

  it('parses DQ_BANDS and names what is wrong', () => {
    expect(
      parseDqBands(
        '[{"metric":"clusterRateHz","subsystem":"camera","max":50,"status":"QUESTIONABLE"}]',
      ),
    ).toEqual([
      {
        metric: 'clusterRateHz',
        subsystem: 'camera',
        max: 50,
        status: 'QUESTIONABLE',
        severity: 'WARNING',
      },
    ]);
    expect(() => parseDqBands('{}')).toThrow(/JSON array/);
    expect(() => parseDqBands('[{"metric":"x","subsystem":"camera","status":"BAD"}]')).toThrow(
      /band 0: give min, max or both/,
    );
    expect(() =>
      parseDqBands('[{"metric":"x","subsystem":"camera","max":1,"status":"FINE"}]'),
    ).toThrow(/status must be BAD or QUESTIONABLE/);
  });
});
