import { RecoInputError } from './errors';

/** Per-pixel pedestal mean and σ of a camera, from the images of a pedestal run. */
export interface PedestalMap {
  width: number;
  height: number;
  /** How many images went into it. */
  images: number;
  mean: Float32Array;
  sigma: Float32Array;
}

/**
 * Accumulates pedestal images (sum and sum of squares per pixel, in doubles so that thousands
 * of images lose no precision) and yields the mean and sample σ maps.
 */
export class PedestalAccumulator {
  private sum: Float64Array | undefined;
  private sumSquares: Float64Array | undefined;
  private count = 0;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {}

  add(image: Uint16Array): void {
    const n = this.width * this.height;
    if (image.length !== n) {
      throw new RecoInputError(
        `pedestal image has ${image.length} pixels, expected ${this.width}×${this.height} = ${n}`,
      );
    }
    const sum = (this.sum ??= new Float64Array(n));
    const sumSquares = (this.sumSquares ??= new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const v = image[i];
      sum[i] += v;
      sumSquares[i] += v * v;
    }
    this.count++;
  }

  get images(): number {
    return this.count;
  }

  result(): PedestalMap {
    if (this.count < 2 || !this.sum || !this.sumSquares)
      throw new RecoInputError(`a pedestal needs at least 2 images, got ${this.count}`);
    const n = this.width * this.height;
    const mean = new Float32Array(n);
    const sigma = new Float32Array(n);
    const k = this.count;
    for (let i = 0; i < n; i++) {
      const m = this.sum[i] / k;
      mean[i] = m;
      sigma[i] = Math.sqrt(Math.max(0, (this.sumSquares[i] - k * m * m) / (k - 1)));
    }
    return { width: this.width, height: this.height, images: k, mean, sigma };
  }
}

/** Summary numbers of a map: what the DQ metrics report. */
export function pedestalSummary(map: PedestalMap, cimax: number): { mean: number; noise: number } {
  let sumMean = 0;
  let sumSigma = 0;
  let used = 0;
  for (let i = 0; i < map.mean.length; i++) {
    if (map.mean[i] >= cimax) continue; // hot pixels say nothing about the pedestal
    sumMean += map.mean[i];
    sumSigma += map.sigma[i];
    used++;
  }
  return { mean: used ? sumMean / used : NaN, noise: used ? sumSigma / used : NaN };
}

// Binary layout (little-endian): "CYGPED01", u32 width, u32 height, u32 images, u32 0,
// then width·height f32 means and width·height f32 σ. Plain enough for numpy.fromfile.
const MAGIC = 'CYGPED01';
const HEADER = 24;

export function encodePedestalMap(map: PedestalMap): Buffer {
  const n = map.width * map.height;
  const out = Buffer.alloc(HEADER + 8 * n);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(map.width, 8);
  out.writeUInt32LE(map.height, 12);
  out.writeUInt32LE(map.images, 16);
  Buffer.from(map.mean.buffer, map.mean.byteOffset, 4 * n).copy(out, HEADER);
  Buffer.from(map.sigma.buffer, map.sigma.byteOffset, 4 * n).copy(out, HEADER + 4 * n);
  return out;
}

/**
 * Reads a map written by encodePedestalMap. With `shared`, the maps live in a
 * SharedArrayBuffer so that reconstruction threads use them without a copy each.
 */
export function decodePedestalMap(bytes: Uint8Array, shared = false): PedestalMap {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(8, bytes.length)).toString(
    'latin1',
  );
  if (text !== MAGIC) throw new RecoInputError('not a pedestal map (bad magic)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(8, true);
  const height = view.getUint32(12, true);
  const images = view.getUint32(16, true);
  const n = width * height;
  if (bytes.length !== HEADER + 8 * n) {
    throw new RecoInputError(
      `pedestal map of ${width}×${height} should be ${HEADER + 8 * n} bytes, is ${bytes.length}`,
    );
  }
  const storage = shared ? new SharedArrayBuffer(8 * n) : new ArrayBuffer(8 * n);
  new Uint8Array(storage).set(bytes.subarray(HEADER));
  return {
    width,
    height,
    images,
    mean: new Float32Array(storage, 0, n),
    sigma: new Float32Array(storage, 4 * n, n),
  };
}

/** A map whose arrays live in shared memory (copied once), for worker threads. */
export function sharePedestalMap(map: PedestalMap): PedestalMap {
  if (map.mean.buffer instanceof SharedArrayBuffer) return map;
  const n = map.width * map.height;
  const storage = new SharedArrayBuffer(8 * n);
  const mean = new Float32Array(storage, 0, n);
  const sigma = new Float32Array(storage, 4 * n, n);
  mean.set(map.mean);
  sigma.set(map.sigma);
  return { ...map, mean, sigma };
}
