import type { ClusterFeatures } from '../../src/reco/image';
import type { InjectedCluster } from '../../src/reco/simulation';

export interface Match {
  injected: InjectedCluster;
  found: ClusterFeatures | undefined;
  distance: number;
}

/** Pairs each injected cluster with the nearest reconstructed one (by centre). */
export function matchClusters(injected: InjectedCluster[], found: ClusterFeatures[]): Match[] {
  return injected.map((truth) => {
    let best: ClusterFeatures | undefined;
    let distance = Infinity;
    for (const cluster of found) {
      const d = Math.hypot(cluster.xMean - truth.x, cluster.yMean - truth.y);
      if (d < distance) [best, distance] = [cluster, d];
    }
    return { injected: truth, found: best, distance };
  });
}
