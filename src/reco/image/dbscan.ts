/** Points on a grid of `width`×`height` bins: index = y·width + x, with a weight each. */
export interface GridPoints {
  width: number;
  height: number;
  bins: Int32Array;
  weights: Float32Array;
}

function cityBlockOffsets(eps: number): Array<[number, number]> {
  const offsets: Array<[number, number]> = [];
  for (let dy = -eps; dy <= eps; dy++)
    for (let dx = -eps; dx <= eps; dx++)
      if (Math.abs(dx) + Math.abs(dy) <= eps) offsets.push([dx, dy]);
  return offsets;
}

/**
 * DBSCAN on grid points with the city-block metric and sample weights (as scikit-learn's
 * `sample_weight`): a point is core when the weights within `eps` (itself included) sum to at
 * least `minSamples`; clusters are core points connected within `eps`, plus the border points
 * they reach. Neighbours are found through a bin → point lookup, so the cost is
 * points × (2·eps+1)², not points². Returns the cluster of each point, -1 for noise.
 */
export function gridDbscan(points: GridPoints, eps: number, minSamples: number): Int32Array {
  const { width, height, bins, weights } = points;
  const n = bins.length;
  const pointAt = new Map<number, number>();
  for (let i = 0; i < n; i++) pointAt.set(bins[i], i);
  const offsets = cityBlockOffsets(eps);

  const neighbours = (i: number, visit: (j: number) => void) => {
    const x = bins[i] % width;
    const y = (bins[i] - x) / width;
    for (const [dx, dy] of offsets) {
      const nx = x + dx;
      const ny = y + dy;
      if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
      const j = pointAt.get(ny * width + nx);
      if (j !== undefined) visit(j);
    }
  };

  const core = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    neighbours(i, (j) => (sum += weights[j]));
    if (sum >= minSamples) core[i] = 1;
  }

  const cluster = new Int32Array(n).fill(-1);
  let next = 0;
  const stack: number[] = [];
  for (let seed = 0; seed < n; seed++) {
    if (!core[seed] || cluster[seed] !== -1) continue;
    const id = next++;
    cluster[seed] = id;
    stack.push(seed);
    while (stack.length > 0) {
      const i = stack.pop()!;
      neighbours(i, (j) => {
        if (cluster[j] !== -1) return;
        cluster[j] = id;
        if (core[j]) stack.push(j); // border points join but do not extend the cluster
      });
    }
  }
  return cluster;
}
