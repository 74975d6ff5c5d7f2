import type { Random } from './random';

/** Per-run camera conditions: the pedestal map, its noise and the hot pixels. */
export interface CameraConditions {
  side: number;
  /** Per-pixel pedestal mean (ADC). */
  pedestal: Float32Array;
  /** Per-pixel noise σ (ADC). */
  noise: Float32Array;
  hotPixels: Uint32Array;
}

/** What was injected into one image: the reconstruction's ground truth. */
export interface InjectedCluster {
  kind: 'spot' | 'track';
  /** Centre (pixels; x is the column, y the row). */
  x: number;
  y: number;
  /** Total light injected (ADC counts above pedestal). */
  integral: number;
  /** Spots: Gaussian σ (pixels). Tracks: length (pixels) and angle (radians). */
  sigma?: number;
  length?: number;
  theta?: number;
}

/** CYGNO-like camera conditions: pedestal ≈ 99 ADC with slow variation, σ ≈ 2–3 ADC, hot pixels. */
export function cameraConditions(
  random: Random,
  side: number,
  hotPixelCount = Math.ceil((side * side) / 200_000),
): CameraConditions {
  const n = side * side;
  const pedestal = new Float32Array(n);
  const noise = new Float32Array(n);
  const tiltX = random.uniform(-2, 2) / side;
  const tiltY = random.uniform(-2, 2) / side;
  for (let y = 0, i = 0; y < side; y++) {
    for (let x = 0; x < side; x++, i++) {
      pedestal[i] = 99 + tiltX * x + tiltY * y + 0.5 * random.gaussian();
      noise[i] = 2.2 + 0.3 * random.next();
    }
  }
  const hotPixels = new Uint32Array(hotPixelCount).map(() => random.int(0, n - 1));
  return { side, pedestal, noise, hotPixels };
}

function addGaussianSpot(
  signal: Float32Array,
  side: number,
  cx: number,
  cy: number,
  sigma: number,
  integral: number,
): void {
  const radius = Math.ceil(4 * sigma);
  const norm = integral / (2 * Math.PI * sigma * sigma);
  for (
    let y = Math.max(0, Math.floor(cy - radius));
    y <= Math.min(side - 1, Math.ceil(cy + radius));
    y++
  ) {
    for (
      let x = Math.max(0, Math.floor(cx - radius));
      x <= Math.min(side - 1, Math.ceil(cx + radius));
      x++
    ) {
      const d2 = (x - cx) ** 2 + (y - cy) ** 2;
      signal[y * side + x] += norm * Math.exp(-d2 / (2 * sigma * sigma));
    }
  }
}

/**
 * One camera image: pedestal + noise + hot pixels, plus (unless a pedestal run) ⁵⁵Fe-like spots
 * and straight tracks made of Gaussian spots along a segment. Returns the u16 image and what
 * was injected.
 */
export function cameraImage(
  random: Random,
  conditions: CameraConditions,
  options: {
    spots: number;
    tracks: number;
    /** Light of a spot (ADC); default uniform in 4,000–20,000 (covers the efficiency curve). */
    spotIntegral?: (random: Random) => number;
  },
): { image: Uint16Array; injected: InjectedCluster[] } {
  const { side } = conditions;
  const signal = new Float32Array(side * side);
  const injected: InjectedCluster[] = [];
  const margin = Math.min(40, side / 8);
  for (let i = 0; i < options.spots; i++) {
    const x = random.uniform(margin, side - margin);
    const y = random.uniform(margin, side - margin);
    const sigma = random.uniform(2, 4);
    const integral = options.spotIntegral?.(random) ?? random.uniform(4_000, 20_000);
    addGaussianSpot(signal, side, x, y, sigma, integral);
    injected.push({ kind: 'spot', x, y, integral, sigma });
  }
  for (let i = 0; i < options.tracks; i++) {
    const length = random.uniform(side / 20, side / 6);
    const theta = random.uniform(0, Math.PI);
    const x = random.uniform(margin + length / 2, side - margin - length / 2);
    const y = random.uniform(margin + length / 2, side - margin - length / 2);
    const integral = random.uniform(20_000, 80_000);
    const steps = Math.max(2, Math.ceil(length));
    for (let s = 0; s < steps; s++) {
      const t = s / (steps - 1) - 0.5;
      addGaussianSpot(
        signal,
        side,
        x + t * length * Math.cos(theta),
        y + t * length * Math.sin(theta),
        1.5,
        integral / steps,
      );
    }
    injected.push({ kind: 'track', x, y, integral, length, theta });
  }
  const image = new Uint16Array(side * side);
  const { pedestal, noise } = conditions;
  for (let i = 0; i < image.length; i++) {
    const value = pedestal[i] + noise[i] * random.gaussian() + signal[i];
    image[i] = value <= 0 ? 0 : value >= 65535 ? 65535 : Math.round(value);
  }
  for (const pixel of conditions.hotPixels) image[pixel] = 5_000 + random.int(0, 20_000);
  return { image, injected };
}
