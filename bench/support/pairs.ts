import { load, type LoadResult } from './loadgen';

export interface PairOptions {
  rounds: number;
  seconds: number;
  concurrency: number;
  /** The ratio the gateway should reach, printed beside the result. */
  target: number;
}

/**
 * Short measurements alternating gateway and baseline, so that the drift of the shared machine
 * hits both alike; prints each, then the medians and the median of the per-pair ratios.
 */
export async function measurePairs(
  servers: { gateway: string; baseline: string },
  body: string,
  options: PairOptions,
): Promise<number> {
  for (const url of Object.values(servers)) await load(url, body, options.concurrency, 2); // JIT, caches
  const results: Record<'gateway' | 'baseline', LoadResult[]> = { gateway: [], baseline: [] };
  for (let round = 1; round <= options.rounds; round++) {
    for (const mode of ['gateway', 'baseline'] as const) {
      const result = await load(servers[mode], body, options.concurrency, options.seconds);
      results[mode].push(result);
      console.log(
        `round ${String(round).padStart(2)} ${mode.padEnd(8)} ${result.perSecond.toFixed(0).padStart(6)} req/s  p50 ${result.p50Ms.toFixed(1)} ms  p99 ${result.p99Ms.toFixed(1)} ms`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const mode of ['gateway', 'baseline'] as const) {
    const rps = median(results[mode].map((r) => r.perSecond));
    const p50 = median(results[mode].map((r) => r.p50Ms));
    const p99 = median(results[mode].map((r) => r.p99Ms));
    console.log(
      `median   ${mode.padEnd(8)} ${rps.toFixed(0)} req/s (p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms)`,
    );
  }
  const ratios = results.gateway.map((r, i) => r.perSecond / results.baseline[i].perSecond);
  const ratio = median(ratios);
  console.log(
    `ratio    gateway/baseline requests/s, median of ${options.rounds} pairs: ${ratio.toFixed(2)} (range ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; target >= ${options.target.toFixed(2)})`,
  );
  return ratio;
}
