import type { ClusterFeatures } from '../image/features';
import type { ImageSummary } from '../image/reconstruct';
import { fitGaussianPeak } from './peakFit';

/** ⁵⁵Fe: the 5.9 keV line, looked for among cluster integrals in a window (ADC). */
export interface Fe55Options {
  minAdc: number;
  maxAdc: number;
  keV: number;
}

export const DEFAULT_FE55: Readonly<Fe55Options> = Object.freeze({
  minAdc: 2_000,
  maxAdc: 30_000,
  keV: 5.9,
});

/** Accumulates a run's per-image results into its DQ metrics, one image at a time. */
export class RunSummary {
  private images = 0;
  private badImages = 0;
  private sparks = 0;
  private clusters = 0;
  private integralSum = 0;
  private rmsSum = 0;
  private readonly integrals: number[] = [];
  private firstTime = Infinity;
  private lastTime = -Infinity;

  add(summary: ImageSummary, clusters: readonly ClusterFeatures[], unixTime: number): void {
    this.images++;
    if (summary.spark) this.sparks++;
    this.clusters += clusters.length;
    this.integralSum += summary.integral;
    this.rmsSum += summary.rms;
    for (const cluster of clusters) this.integrals.push(cluster.integral);
    this.firstTime = Math.min(this.firstTime, unixTime);
    this.lastTime = Math.max(this.lastTime, unixTime);
  }

  addBadImage(): void {
    this.badImages++;
  }

  get imageCount(): number {
    return this.images;
  }

  /** The metrics; ⁵⁵Fe numbers only for source runs (and only when a peak is found). */
  metrics(options: { source: boolean; fe55?: Fe55Options }): Record<string, number | null> {
    const total = this.images + this.badImages;
    const seconds = this.lastTime - this.firstTime;
    const metrics: Record<string, number | null> = {
      images: this.images,
      badImages: this.badImages,
      badImageFraction: total > 0 ? this.badImages / total : null,
      sparkFraction: this.images > 0 ? this.sparks / this.images : null,
      clusters: this.clusters,
      clustersPerImage: this.images > 0 ? this.clusters / this.images : null,
      clusterRateHz: seconds > 0 ? this.clusters / seconds : null,
      imageIntegralMean: this.images > 0 ? this.integralSum / this.images : null,
      imageRmsMean: this.images > 0 ? this.rmsSum / this.images : null,
    };
    if (options.source) {
      const fe55 = options.fe55 ?? DEFAULT_FE55;
      const peak = fitGaussianPeak(this.integrals, fe55.minAdc, fe55.maxAdc);
      metrics.fe55PeakAdc = peak?.mean ?? null;
      metrics.fe55WidthAdc = peak?.sigma ?? null;
      metrics.fe55Resolution = peak ? peak.sigma / peak.mean : null;
      metrics.lightYieldAdcPerKeV = peak ? peak.mean / fe55.keV : null;
    }
    return metrics;
  }
}
