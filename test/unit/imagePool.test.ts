import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CYGNO_DEFAULTS,
  PedestalAccumulator,
  reconstructImage,
  type PedestalMap,
} from '../../src/reco/image';
import { ImagePool } from '../../src/reco/parallel';
import { cameraConditions, cameraImage, Random } from '../../src/reco/simulation';

// The pool's threads reconstruct with maps derived once for the pool (derivedMaps), and take
// each image over before `submit` resolves; both must leave the results unchanged.

const SIDE = 256;
const parameters = { ...CYGNO_DEFAULTS };
let pedestal: PedestalMap;
let pool: ImagePool;
const conditions = cameraConditions(new Random(21), SIDE);

beforeAll(() => {
  const random = new Random(22);
  const accumulator = new PedestalAccumulator(SIDE, SIDE);
  for (let k = 0; k < 10; k++)
    accumulator.add(cameraImage(random, conditions, { spots: 0, tracks: 0 }).image);
  pedestal = accumulator.result();
  pool = new ImagePool(pedestal, parameters, 2);
});

afterAll(() => pool.close());

describe('ImagePool', () => {
  it('gives, with the maps derived once for the pool, what the same thread would find alone', async () => {
    const random = new Random(23);
    for (let k = 0; k < 6; k++) {
      const { image } = cameraImage(random, conditions, { spots: 2, tracks: 1 });
      const expected = reconstructImage(image, pedestal, parameters);
      expect(expected.clusters.length).toBeGreaterThan(0);
      expect(await pool.reconstruct(image)).toEqual(expected);
    }
  });

  it('has taken the image over when submit resolves: the caller may overwrite it at once', async () => {
    const random = new Random(24);
    const images = Array.from(
      { length: 6 },
      () => cameraImage(random, conditions, { spots: 2, tracks: 1 }).image,
    );
    const expected = images.map((image) => reconstructImage(image, pedestal, parameters));
    const reused = new Uint16Array(SIDE * SIDE);
    const results: Array<Promise<unknown>> = [];
    for (const image of images) {
      reused.set(image);
      results.push((await pool.submit(reused)).result);
    }
    reused.fill(0);
    expect(await Promise.all(results)).toEqual(expected);
  });
});
