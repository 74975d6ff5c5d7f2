import { CYGNO_DEFAULTS, PedestalAccumulator, reconstructImage } from '../src/reco/image';
import { ImagePool } from '../src/reco/parallel';
import { cameraConditions, cameraImage, Random } from '../src/reco/simulation';

// npm run bench:reco — the camera reconstruction of one 2304×2304 image on one thread, against
// the memory floor measured in the same run: one typed-array read pass over the same image.
// Target: <= 25x the floor. Then throughput on 2 worker threads against 1 (target >= 1.7x).

const SIDE = 2304;
const IMAGES = Number(process.env.BENCH_IMAGES ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const POOL_IMAGES = Number(process.env.BENCH_POOL_IMAGES ?? 32);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** The floor: read every pixel once (what any pass over the image costs at least). */
function readPass(image: Uint16Array): number {
  let sum = 0;
  for (let i = 0; i < image.length; i++) sum += image[i];
  return sum;
}

function timeEach(images: Uint16Array[], work: (image: Uint16Array) => unknown): number[] {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const image of images) {
      const start = performance.now();
      work(image);
      times.push(performance.now() - start);
    }
  }
  return times;
}

/** Images per second of one batch through the pool. */
async function batchRate(pool: ImagePool, images: Uint16Array[]): Promise<number> {
  const start = performance.now();
  const results: Array<Promise<unknown>> = [];
  // As in the RECONSTRUCT job: each image is copied from the event into one of the pool's
  // recycled buffers, on this thread.
  for (let i = 0; i < POOL_IMAGES; i++) results.push(pool.reconstruct(images[i % images.length]));
  await Promise.all(results);
  return POOL_IMAGES / ((performance.now() - start) / 1000);
}

/**
 * Throughput on 2 threads against 1, batch for batch in turn, so that a slow spell of the
 * shared machine hits one pair rather than one side: the speed-up is the median pair's ratio.
 */
async function poolSpeedUp(
  images: Uint16Array[],
  pedestal: ReturnType<PedestalAccumulator['result']>,
): Promise<void> {
  const one = new ImagePool(pedestal, CYGNO_DEFAULTS, 1);
  const two = new ImagePool(pedestal, CYGNO_DEFAULTS, 2);
  try {
    await batchRate(one, images); // warm-up
    await batchRate(two, images);
    const pairs: Array<{ one: number; two: number; ratio: number }> = [];
    for (let round = 0; round < ROUNDS; round++) {
      const rateOne = await batchRate(one, images);
      const rateTwo = await batchRate(two, images);
      pairs.push({ one: rateOne, two: rateTwo, ratio: rateTwo / rateOne });
      console.log(
        `  pair ${round + 1}: 1 thread ${rateOne.toFixed(1)} images/s, 2 threads ${rateTwo.toFixed(1)} images/s, ${(rateTwo / rateOne).toFixed(2)}x`,
      );
    }
    const ratios = pairs.map((pair) => pair.ratio);
    const mid = median(ratios);
    console.log(
      `1 worker thread       ${median(pairs.map((p) => p.one)).toFixed(1)} images/s (median)`,
    );
    console.log(
      `2 worker threads      ${median(pairs.map((p) => p.two)).toFixed(1)} images/s (median)`,
    );
    console.log(
      `speed-up              ${mid.toFixed(2)}x median of ${ratios.length} pairs (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}; target >= 1.7x)`,
    );
  } finally {
    await Promise.all([one.close(), two.close()]);
  }
}

async function main(): Promise<void> {
  console.log(`preparing: ${SIDE}×${SIDE} camera, 8 pedestal images, ${IMAGES} data images…`);
  const random = new Random(1);
  const conditions = cameraConditions(new Random(2304), SIDE);
  const accumulator = new PedestalAccumulator(SIDE, SIDE);
  for (let i = 0; i < 8; i++)
    accumulator.add(cameraImage(random, conditions, { spots: 0, tracks: 0 }).image);
  const pedestal = accumulator.result();
  const images = Array.from(
    { length: IMAGES },
    () => cameraImage(random, conditions, { spots: 3, tracks: 1 }).image,
  );

  // Warm both up, then interleave rounds so that machine noise hits both alike.
  timeEach(images.slice(0, 2), readPass);
  timeEach(images.slice(0, 2), (image) => reconstructImage(image, pedestal, CYGNO_DEFAULTS));
  const floor = median(timeEach(images, readPass));
  const pipeline = median(
    timeEach(images, (image) => reconstructImage(image, pedestal, CYGNO_DEFAULTS)),
  );
  console.log(`read pass (floor)     ${floor.toFixed(2)} ms/image`);
  console.log(`reconstruction        ${pipeline.toFixed(2)} ms/image`);
  console.log(`ratio                 ${(pipeline / floor).toFixed(1)}x the floor (target <= 25x)`);

  await poolSpeedUp(images, pedestal);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
