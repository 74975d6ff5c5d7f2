import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { readClusterTable } from '../../src/reco/clusterTable';
import { writeSimulatedRun, type RunTruth } from '../../src/reco/simulation';

const CLI = path.join(__dirname, '..', '..', 'bin', 'cygno-gateway.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-reco-cli-'));
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, 'reco', ...args], {
    env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', RECO_THREADS: '2' },
  });
let truth: RunTruth;

beforeAll(async () => {
  await writeSimulatedRun(path.join(dir, 'ped.mid.gz'), {
    runNumber: 1,
    events: 5,
    side: 512,
    pedestal: true,
    gzip: true,
  });
  truth = (
    await writeSimulatedRun(path.join(dir, 'data.mid'), {
      runNumber: 2,
      events: 6,
      side: 512,
      pedestal: false,
      gzip: false,
    })
  ).truth;
});

describe('cygno-gateway reco (offline)', () => {
  it('reconstructs a run file against a pedestal run, writes Arrow and prints its DQ', async () => {
    const out = path.join(dir, 'clusters.arrow');
    const { stdout, stderr } = await run([
      path.join(dir, 'data.mid'),
      '--pedestal',
      path.join(dir, 'ped.mid.gz'),
      '--out',
      out,
    ]);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ run: 2, images: 6, badImages: 0, sparkFraction: 0, out });
    const table = readClusterTable(fs.readFileSync(out));
    expect(table.integral).toHaveLength(summary.clusters);
    const injected = truth.events.reduce((n, e) => n + e.injected.length, 0);
    expect(summary.clusters).toBeGreaterThanOrEqual(injected - 2);
    expect(summary.clusters).toBeLessThanOrEqual(injected + 2);
    expect(stderr).toMatch(/pedestal: done 5 images/);
    expect(stderr).toMatch(/reco: done 6 images, \d+ clusters/);
  });

  it('writes the reduced file, and reconstructs from it alone to the same cluster table', async () => {
    const [full, roi, again] = ['full.arrow', 'run2_roi.npz', 'again.arrow'].map((f) =>
      path.join(dir, f),
    );
    const pedestal = path.join(dir, 'ped.mid.gz');
    await run([
      path.join(dir, 'data.mid'),
      '--pedestal',
      pedestal,
      '--out',
      full,
      '--reduced',
      roi,
    ]);
    expect(fs.statSync(path.join(dir, 'data.mid')).size / fs.statSync(roi).size).toBeGreaterThan(
      20,
    );
    const { stdout, stderr } = await run([roi, '--pedestal', pedestal, '--out', again]);
    expect(JSON.parse(stdout)).toMatchObject({ run: 2, images: 6 });
    expect(stderr).toMatch(/reco \(reduced\): done 6 images/);
    expect(fs.readFileSync(again).equals(fs.readFileSync(full))).toBe(true);
    // Against another pedestal map than the one it was cut with: refused.
    await writeSimulatedRun(path.join(dir, 'ped2.mid'), {
      runNumber: 3,
      events: 3,
      side: 512,
      pedestal: true,
      gzip: false,
    });
    await expect(run([roi, '--pedestal', path.join(dir, 'ped2.mid')])).rejects.toMatchObject({
      stderr: expect.stringMatching(/was cut against a pedestal map with md5/),
    });
    // Truncated (a copy cut short): refused, naming what is wrong.
    const cut = path.join(dir, 'cut_roi.npz');
    fs.writeFileSync(cut, fs.readFileSync(roi).subarray(0, 5000));
    await expect(run([cut, '--pedestal', pedestal])).rejects.toMatchObject({
      stderr: expect.stringMatching(/not a readable reduced file/),
    });
    // Parameters whose thresholds are below the reduction's: refused, naming them.
    await expect(
      promisify(execFile)(process.execPath, [CLI, 'reco', roi, '--pedestal', pedestal], {
        env: { PATH: process.env.PATH, LOG_LEVEL: 'silent', RECO_PARAMETERS: '{"nsigma": 1.0}' },
      }),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/nsigma 1 is below the file's 1.3/) });
  });

  it('says what is missing', async () => {
    await expect(run([path.join(dir, 'data.mid')])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--pedestal is required/),
    });
    await expect(run([path.join(dir, 'nope.mid'), '--pedestal', 'x'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/nope\.mid: no such file/),
    });
  });
});
