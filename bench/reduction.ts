import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cameraImageOf } from '../src/reco/cameraBank';
import {
  CYGNO_DEFAULTS,
  type ClusterFeatures,
  type ImageReconstruction,
  type PedestalMap,
} from '../src/reco/image';
import { pedestalReference } from '../src/reco/image/reconstruct';
import { readMidasEvents } from '../src/reco/midas';
import { ImagePool } from '../src/reco/parallel';
import { binGridOf } from '../src/reco/reduction/binGrid';
import { REDUCTION_DEFAULTS, type ReductionParameters } from '../src/reco/reduction/parameters';
import { readReducedRun, ReducedRunWriter } from '../src/reco/reduction/reducedRun';
import { restoreImage } from '../src/reco/reduction/roi';
import { writeSimulatedRun, type InjectedCluster } from '../src/reco/simulation';
import { simulatedPedestal } from './support/simulatedPedestal';

// npm run bench:reduction — reduced files on real-sized (2304²) simulated CYGNO images: how
// much smaller than the raw .mid.gz, and how faithful a reconstruction from them is, against
// the reconstruction of the raw images (same parameters) and against the simulator's truth,
// for a grid of margins and thresholds (the trade-off curve). Fidelity as issue 20 states it:
// clusters ≥ 5,000 ADC of the raw reconstruction found again (same event, centre within 2 px),
// their integrals within 1%, and the cluster count per event within ±1.

const SIDE = 2304;
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20);
const THREADS = 2;
const parameters = { ...CYGNO_DEFAULTS };
const GRID: ReductionParameters[] = [
  { marginBins: 1, thresholdAdc: Infinity },
  { marginBins: 2, thresholdAdc: Infinity },
  { marginBins: 3, thresholdAdc: Infinity },
  { ...REDUCTION_DEFAULTS },
  { marginBins: 3, thresholdAdc: 40 },
  { marginBins: 3, thresholdAdc: 25 },
  { marginBins: 5, thresholdAdc: 100 },
];
/** CYGNO-like activity (the simulator's default), and a busy camera (e.g. a cosmic shower). */
const SCENARIOS = [
  { name: 'typical: 3 spots + 1 track per image', spotsPerImage: 3, tracksPerImage: 1 },
  { name: 'busy: 15 spots + 5 tracks per image', spotsPerImage: 15, tracksPerImage: 5 },
];

interface RawEvent {
  serial: number;
  image: Uint16Array;
  injected: InjectedCluster[];
}

async function images(file: string): Promise<Array<{ serial: number; image: Uint16Array }>> {
  const found = [];
  for await (const event of readMidasEvents(fs.createReadStream(file))) {
    const image = cameraImageOf(event, 'CAM0');
    if (image) found.push({ serial: event.serial, image: image.slice() });
  }
  return found;
}

const near = (a: ClusterFeatures, b: ClusterFeatures) =>
  Math.hypot(a.xMean - b.xMean, a.yMean - b.yMean) <= 2;

function fidelity(raw: ClusterFeatures[][], reduced: ClusterFeatures[][]) {
  let big = 0;
  let found = 0;
  let within = 0;
  let countOk = 0;
  for (let e = 0; e < raw.length; e++) {
    if (Math.abs(raw[e].length - reduced[e].length) <= 1) countOk++;
    for (const cluster of raw[e]) {
      if (cluster.integral < 5_000) continue;
      big++;
      const match = reduced[e].find((c) => near(c, cluster));
      if (!match) continue;
      found++;
      if (Math.abs(match.integral - cluster.integral) <= 0.01 * Math.abs(cluster.integral))
        within++;
    }
  }
  return { big, found: found / big, integrals: within / big, counts: countOk / raw.length };
}

function truthEfficiency(events: RawEvent[], clusters: ClusterFeatures[][]): number {
  let injected = 0;
  let found = 0;
  events.forEach((event, e) => {
    for (const truth of event.injected) {
      if (truth.integral < 5_000) continue;
      injected++;
      if (clusters[e].some((c) => Math.hypot(c.xMean - truth.x, c.yMean - truth.y) < 10)) found++;
    }
  });
  return found / injected;
}

async function fromReduced(file: Buffer, pedestal: PedestalMap): Promise<ClusterFeatures[][]> {
  // Straight through restoreImage and the pool, without reconstructReduced's parameter check:
  // the curve includes margins below what the gateway accepts, to show what they would lose.
  const reduced = readReducedRun(file);
  const reference = pedestalReference(pedestal, reduced.metadata.reference.nsigma);
  const pool = new ImagePool(pedestal, parameters, THREADS);
  try {
    const results = [];
    for (const event of reduced.events()) {
      const image = new Uint16Array(SIDE * SIDE);
      restoreImage(image, reference, event.roi, reduced.metadata.grid);
      results.push(pool.reconstruct(image, true).then((r) => r.clusters));
    }
    return await Promise.all(results);
  } finally {
    await pool.close();
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bench-reduction-'));
  try {
    process.stderr.write(`simulating a pedestal run and a ${EVENTS}-image data run at ${SIDE}²…\n`);
    const pedestal = (await simulatedPedestal(dir, SIDE, 8)).map;
    for (const scenario of SCENARIOS) {
      const dataFile = path.join(dir, 'run00002.mid.gz');
      const { truth } = await writeSimulatedRun(dataFile, {
        runNumber: 2,
        events: EVENTS,
        side: SIDE,
        pedestal: false,
        gzip: true,
        spotsPerImage: scenario.spotsPerImage,
        tracksPerImage: scenario.tracksPerImage,
      });
      const rawBytes = fs.statSync(dataFile).size;
      const events: RawEvent[] = (await images(dataFile)).map(({ serial, image }) => ({
        serial,
        image,
        injected: truth.events.find((e) => e.serial === serial)!.injected,
      }));

      let rawClusters: ClusterFeatures[][] = [];
      const rows: string[] = [];
      for (const reduction of GRID) {
        const pool = new ImagePool(pedestal, parameters, THREADS, reduction);
        let results: ImageReconstruction[];
        try {
          results = await Promise.all(events.map((e) => pool.reconstruct(e.image)));
        } finally {
          await pool.close();
        }
        rawClusters = results.map((r) => r.clusters);
        const writer = new ReducedRunWriter();
        results.forEach((r, e) =>
          writer.add(
            {
              serial: events[e].serial,
              file: 'run00002.mid.gz',
              offset: 0,
              size: 0,
              summary: r.summary,
            },
            r.roi!,
          ),
        );
        const file = Buffer.concat(
          writer.finish({
            runNumber: 2,
            recoVersion: 1,
            recoParameters: parameters,
            reduction,
            pedestal: { runNumber: 1, md5: null },
            image: { width: SIDE, height: SIDE },
            grid: binGridOf(pedestal, parameters),
            reference: { nsigma: parameters.nsigma },
          }),
        );
        const kept = results.reduce((n, r) => n + r.roi!.pixels.length, 0) / (EVENTS * SIDE * SIDE);
        const reduced = await fromReduced(file, pedestal);
        const f = fidelity(rawClusters, reduced);
        const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
        rows.push(
          `| ${reduction.marginBins} | ${Number.isFinite(reduction.thresholdAdc) ? reduction.thresholdAdc : 'none'} | ${(file.length / EVENTS / 1024).toFixed(0)} KB | ${pct(kept)} | ${(rawBytes / file.length).toFixed(0)}× | ${pct(f.found)} | ${pct(f.integrals)} | ${pct(f.counts)} | ${pct(truthEfficiency(events, reduced))} |`,
        );
        process.stderr.write(`${rows[rows.length - 1]}\n`);
      }
      const clusters = rawClusters.reduce((n, c) => n + c.length, 0);
      const big = rawClusters.reduce((n, c) => n + c.filter((x) => x.integral >= 5000).length, 0);
      console.log(
        `\n**${scenario.name}**: ${EVENTS} images of ${SIDE}², raw run file ${(rawBytes / 1e6).toFixed(1)} MB (.mid.gz, ${(rawBytes / EVENTS / 1e6).toFixed(2)} MB per image); the raw reconstruction found ${clusters} clusters (${big} ≥ 5,000 ADC), ${(100 * truthEfficiency(events, rawClusters)).toFixed(1)}% of the injected ones ≥ 5,000 ADC.\n`,
      );
      console.log(
        '| margin (bins) | threshold (ADC) | reduced per image | pixels kept | raw / reduced | clusters ≥ 5k found | integrals within 1% | count ±1 per event | truth found (≥ 5k) |',
      );
      console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const row of rows) console.log(row);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
