import zlib from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CYGNO_DEFAULTS,
  PedestalAccumulator,
  RecoInputError,
  type ImageReconstruction,
  type PedestalMap,
} from '../../src/reco/image';
import { ImagePool } from '../../src/reco/parallel';
import { reconstructReduced } from '../../src/reco/reduction/fromReduced';
import { REDUCTION_DEFAULTS } from '../../src/reco/reduction/parameters';
import { readReducedRun, ReducedRunWriter } from '../../src/reco/reduction/reducedRun';
import { cameraConditions, cameraImage, Random } from '../../src/reco/simulation';

// Reduction loses no clusters: the same parameters on the reduced images find, event by event,
// bit for bit, the clusters the raw images gave (issue 20). Pure code on simulated images; the
// job and the API around it are tested in reducedFiles.test.ts, the figures in bench:reduction.

const SIDE = 512;
const parameters = { ...CYGNO_DEFAULTS };
let pedestal: PedestalMap;
const raw: Array<{ image: Uint16Array; result: ImageReconstruction }> = [];
let reducedFile: Buffer;

beforeAll(async () => {
  const conditions = cameraConditions(new Random(11), SIDE);
  const random = new Random(12);
  const accumulator = new PedestalAccumulator(SIDE, SIDE);
  for (let k = 0; k < 20; k++)
    accumulator.add(cameraImage(random, conditions, { spots: 0, tracks: 0 }).image);
  pedestal = accumulator.result();
  const pool = new ImagePool(pedestal, parameters, 2, REDUCTION_DEFAULTS);
  try {
    const writer = new ReducedRunWriter();
    for (let serial = 0; serial < 24; serial++) {
      const { image } = cameraImage(random, conditions, { spots: 3, tracks: 1 });
      const result = await pool.reconstruct(image);
      raw.push({ image, result });
      writer.add(
        {
          serial,
          file: 'run00001.mid.gz',
          offset: serial * 1000,
          size: 1000,
          summary: result.summary,
        },
        result.roi!,
      );
    }
    reducedFile = Buffer.concat(
      writer.finish({
        runNumber: 1,
        recoVersion: 1,
        recoParameters: parameters,
        reduction: REDUCTION_DEFAULTS,
        pedestal: { runNumber: 0, md5: null },
        image: { width: SIDE, height: SIDE },
        grid: {
          rebin: 4,
          binsWide: SIDE / 4,
          binsHigh: SIDE / 4,
          x0: 0,
          y0: 0,
          x1: SIDE - 1,
          y1: SIDE - 1,
          width: SIDE,
        },
        reference: { nsigma: parameters.nsigma },
      }),
    );
  } finally {
    await pool.close();
  }
}, 60_000);

async function fromReduced(withParameters = parameters) {
  const results = [];
  const reconstructing = new ImagePool(pedestal, withParameters, 2);
  try {
    for await (const result of reconstructReduced(
      readReducedRun(reducedFile),
      pedestal,
      withParameters,
      reconstructing,
    ))
      results.push(result);
  } finally {
    await reconstructing.close();
  }
  return results;
}

describe('reduced images', () => {
  it("give the raw images' clusters, bit for bit, and their summaries", async () => {
    const reduced = await fromReduced();
    expect(reduced.map((r) => r.event.serial)).toEqual(raw.map((_, serial) => serial));
    const clusterCount = raw.reduce((sum, r) => sum + r.result.clusters.length, 0);
    expect(clusterCount).toBeGreaterThan(40);
    for (let e = 0; e < raw.length; e++) {
      expect(reduced[e].outcome.clusters).toEqual(raw[e].result.clusters);
      expect(reduced[e].outcome.summary).toEqual(raw[e].result.summary);
    }
  });

  it('are a small fraction of the images, even compressed', () => {
    const gzipped = raw.reduce(
      (sum, r) => sum + zlib.gzipSync(Buffer.from(r.image.buffer), { level: 6 }).length,
      0,
    );
    // At 512² the clusters cover a larger share than at CYGNO's 2304² (bench:reduction).
    expect(gzipped / reducedFile.length).toBeGreaterThan(10);
  });

  it('take higher thresholds, and refuse what they cannot honour', async () => {
    const stricter = { ...parameters, version: 2, nsigma: 1.6, pointThreshold: 40 };
    const reduced = await fromReduced(stricter);
    const direct = new ImagePool(pedestal, stricter, 2);
    try {
      for (let e = 0; e < raw.length; e++)
        expect(reduced[e].outcome.clusters).toEqual(
          (await direct.reconstruct(raw[e].image)).clusters,
        );
    } finally {
      await direct.close();
    }
    await expect(fromReduced({ ...parameters, nsigma: 1.0 })).rejects.toThrow(
      /nsigma 1 is below the file's 1.3/,
    );
    await expect(fromReduced({ ...parameters, eps: 3 })).rejects.toThrow(RecoInputError);
    await expect(fromReduced({ ...parameters, rebin: 8 })).rejects.toThrow(/rebin 8/);
  });
});
