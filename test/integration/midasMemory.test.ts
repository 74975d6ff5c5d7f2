import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// In its own process, so that the RSS measured is the reader's and not the test runner's.
describe('MIDAS reader memory', () => {
  it('streams a 2.2 GB run (more than 2 GiB) with RSS under 300 MB', () => {
    const script = path.join(__dirname, '..', 'support', 'streamLargeMidas.cjs');
    const output = execFileSync(process.execPath, [script, String(2.2e9)], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    const result = JSON.parse(output) as {
      events: number;
      bytes: number;
      pixelBytes: number;
      peakRssBytes: number;
    };
    expect(result.bytes).toBeGreaterThan(2 * 1024 ** 3);
    expect(result.events).toBe(1 + Math.ceil(2.2e9 / (16 + 8 + 16 + 2304 * 2304 * 2)));
    expect(result.pixelBytes).toBe((result.events - 1) * 2304 * 2304 * 2);
    expect(result.peakRssBytes).toBeLessThan(300 * 1024 * 1024);
  });
});
