import { beforeAll, describe, expect, it } from 'vitest';
import {
  CYGNO_DEFAULTS,
  decodePedestalMap,
  encodePedestalMap,
  PedestalAccumulator,
  reconstructImage,
  recoParameters,
  RecoInputError,
  type ClusterFeatures,
  type PedestalMap,
} from '../../src/reco/image';
import {
  cameraConditions,
  cameraImage,
  Random,
  type CameraConditions,
  type InjectedCluster,
} from '../../src/reco/simulation';
import { matchClusters, type Match } from '../support/recoTruth';

// Ground truth from the simulator: a CYGNO-like camera (pedestal ≈ 99 ADC, σ ≈ 2.5 ADC, hot
// pixels), ⁵⁵Fe-like spots (4–20 k ADC) and tracks (20–80 k ADC). Half the CYGNO side keeps
// the test quick; spots and tracks do not depend on it.
const SIDE = 1152;
const PEDESTAL_IMAGES = 24;
const DATA_IMAGES = 40;
const EMPTY_IMAGES = 40;

let conditions: CameraConditions;
let pedestal: PedestalMap;
const random = new Random(11);

beforeAll(() => {
  conditions = cameraConditions(new Random(5), SIDE);
  const accumulator = new PedestalAccumulator(SIDE, SIDE);
  for (let i = 0; i < PEDESTAL_IMAGES; i++)
    accumulator.add(cameraImage(random, conditions, { spots: 0, tracks: 0 }).image);
  pedestal = accumulator.result();
});

describe('camera reconstruction on the simulator ground truth', () => {
  let matches: Match[] = [];
  let found = 0;
  const isolatedMatches = new Set<Match>();

  beforeAll(() => {
    for (let i = 0; i < DATA_IMAGES; i++) {
      const { image, injected } = cameraImage(random, conditions, { spots: 3, tracks: 1 });
      const { clusters, summary } = reconstructImage(image, pedestal, CYGNO_DEFAULTS);
      expect(summary.spark).toBe(false);
      const inImage = matchClusters(injected, clusters);
      for (const m of inImage) if (standsAlone(m, inImage)) isolatedMatches.add(m);
      matches = matches.concat(inImage);
      found += clusters.length;
    }
  });

  const bright = (m: Match, adc: number) => m.injected.integral >= adc;
  const isolated = (m: Match) => isolatedMatches.has(m);

  it('finds at least 95% of the clusters of ≥ 5,000 ADC, centred within 3 px', () => {
    const candidates = matches.filter((m) => bright(m, 5_000) && isolated(m));
    const hit = candidates.filter((m) => m.distance <= 3);
    expect(candidates.length).toBeGreaterThan(100);
    expect(hit.length / candidates.length).toBeGreaterThanOrEqual(0.95);
  });

  it('measures the integral of clusters ≥ 10,000 ADC within 10%', () => {
    const measured = matches.filter((m) => bright(m, 10_000) && isolated(m) && m.distance <= 3);
    expect(measured.length).toBeGreaterThan(60);
    const off = measured.filter(
      (m) => Math.abs(m.found!.integral - m.injected.integral) > 0.1 * m.injected.integral,
    );
    expect(off.map((m) => [m.injected.kind, m.injected.integral, m.found!.integral])).toEqual([]);
  });

  it('reconstructs a track as one long cluster along its direction', () => {
    const tracks = matches.filter((m) => m.injected.kind === 'track' && m.distance <= 3);
    expect(tracks.length).toBeGreaterThan(DATA_IMAGES * 0.9);
    for (const { injected, found } of tracks) {
      expect(found!.length).toBeGreaterThan(0.8 * injected.length!);
      expect(found!.width).toBeLessThan(20); // σ = 1.5 px, plus the odd noise hit
      const angle = Math.abs(Math.tan(found!.theta - injected.theta!));
      expect(angle).toBeLessThan(0.1); // same axis (θ and θ ± π are one direction)
    }
  });

  it('does not split clusters into many pieces', () => {
    expect(found).toBeLessThanOrEqual(matches.length * 1.1);
  });
});

describe('camera reconstruction without signal', () => {
  it('makes at most one fake cluster per 20 pedestal-only images, hot pixels included', () => {
    let fakes = 0;
    for (let i = 0; i < EMPTY_IMAGES; i++) {
      const { image } = cameraImage(random, conditions, { spots: 0, tracks: 0 });
      const { clusters, summary } = reconstructImage(image, pedestal, CYGNO_DEFAULTS);
      expect(summary.hotPixels).toBeGreaterThanOrEqual(1);
      fakes += clusters.length;
    }
    expect(fakes).toBeLessThanOrEqual(EMPTY_IMAGES / 20);
  });

  it('flags a spark and does not cluster it', () => {
    const { image } = cameraImage(random, conditions, { spots: 0, tracks: 0 });
    for (let i = 0; i < image.length; i += 2) image[i] += 40; // half the sensor lights up
    const { clusters, summary } = reconstructImage(image, pedestal, CYGNO_DEFAULTS);
    expect(summary.spark).toBe(true);
    expect(clusters).toEqual([]);
  });

  it('is deterministic', () => {
    const { image } = cameraImage(random, conditions, { spots: 3, tracks: 1 });
    const a = reconstructImage(image, pedestal, CYGNO_DEFAULTS);
    const b = reconstructImage(image, pedestal, CYGNO_DEFAULTS);
    expect(b).toEqual(a);
  });
});

describe('zero suppression', () => {
  it("applies each pixel's own cut, also to a pixel whose pedestal lies far above the rest", () => {
    const side = 64;
    const mean = new Float32Array(side * side).fill(100);
    const sigma = new Float32Array(side * side).fill(2);
    const high = 17 * side + 33;
    mean[high] = 1000; // its cut, floor(1000 + 1.3·2) = 1002, is 900 above the others'
    const map: PedestalMap = { width: side, height: side, images: 2, mean, sigma };
    const hitsWith = (highValue: number, lowValue: number) => {
      const image = new Uint16Array(side * side).fill(100);
      image[high] = highValue;
      image[5] = lowValue;
      return reconstructImage(image, map, CYGNO_DEFAULTS).summary.hits;
    };
    expect(hitsWith(1002, 102)).toBe(0); // both exactly at their cut
    expect(hitsWith(1003, 102)).toBe(1);
    expect(hitsWith(1002, 103)).toBe(1);
    expect(hitsWith(1003, 103)).toBe(2);
    expect(hitsWith(400, 100)).toBe(0); // far above the others' cut, below its own
  });
});

describe('bad input', () => {
  it('refuses an image of the wrong size or type with a clear message', () => {
    expect(() => reconstructImage(new Uint16Array(100), pedestal, CYGNO_DEFAULTS)).toThrow(
      /100 pixels, the pedestal map 1152×1152/,
    );
    const floats = new Float32Array(SIDE * SIDE) as unknown as Uint16Array;
    expect(() => reconstructImage(floats, pedestal, CYGNO_DEFAULTS)).toThrow(RecoInputError);
    expect(() => reconstructImage(floats, pedestal, CYGNO_DEFAULTS)).toThrow(/16-bit unsigned/);
  });

  it('needs two images for a pedestal, all of one size', () => {
    const accumulator = new PedestalAccumulator(4, 4);
    expect(() => accumulator.result()).toThrow(/at least 2 images, got 0/);
    expect(() => accumulator.add(new Uint16Array(15))).toThrow(/15 pixels, expected 4×4 = 16/);
  });

  it('validates parameters, naming each bad one', () => {
    const result = recoParameters({ nsigma: -1, rebin: 2.5, colour: 'blue' });
    expect('problems' in result && result.problems).toEqual([
      'unknown parameter "colour"',
      'nsigma: expected a positive number, got -1',
      'rebin: expected a non-negative integer, got 2.5',
    ]);
    expect(recoParameters({ nsigma: 2.5 })).toEqual({
      parameters: { ...CYGNO_DEFAULTS, nsigma: 2.5 },
    });
  });
});

describe('pedestal maps', () => {
  it('round-trip through their binary form and refuse anything else', () => {
    const decoded = decodePedestalMap(encodePedestalMap(pedestal), true);
    expect(decoded.mean.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(decoded).toMatchObject({ width: SIDE, height: SIDE, images: PEDESTAL_IMAGES });
    // Byte comparison: toEqual walks a million elements one by one.
    const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    expect(bytes(decoded.mean).equals(bytes(pedestal.mean))).toBe(true);
    expect(bytes(decoded.sigma).equals(bytes(pedestal.sigma))).toBe(true);
    expect(() => decodePedestalMap(Buffer.from('not a map at all'))).toThrow(/bad magic/);
  });

  it('estimate the simulated pedestal and noise', () => {
    let meanError = 0;
    let sigmaError = 0;
    for (let i = 0; i < pedestal.mean.length; i += 97) {
      if (conditions.hotPixels.includes(i)) continue;
      meanError += Math.abs(pedestal.mean[i] - conditions.pedestal[i]);
      sigmaError += Math.abs(pedestal.sigma[i] - conditions.noise[i]);
    }
    const samples = pedestal.mean.length / 97;
    expect(meanError / samples).toBeLessThan(0.6); // σ/√24 ≈ 0.5 ADC
    expect(sigmaError / samples).toBeLessThan(0.5);
  });
});

/** Clusters injected on top of each other cannot be told apart; the tests leave them out. */
function standsAlone(m: Match, inImage: Match[]): boolean {
  return !inImage.some((o) => o !== m && near(o.injected, m.injected));
}

function near(a: InjectedCluster, b: InjectedCluster): boolean {
  const reach = (c: InjectedCluster) => (c.kind === 'track' ? c.length! / 2 + 10 : 5 * c.sigma!);
  return Math.hypot(a.x - b.x, a.y - b.y) < reach(a) + reach(b);
}

export type { ClusterFeatures };
