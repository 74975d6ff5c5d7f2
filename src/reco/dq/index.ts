// Data quality of a run: metrics from reconstruction results, bands, the ⁵⁵Fe peak. Pure.
export {
  checkBands,
  DEFAULT_DQ_BANDS,
  parseDqBands,
  subsystemVerdicts,
  type BandViolation,
  type DqBand,
} from './bands';
export { fitGaussianPeak, type Peak } from './peakFit';
export { DEFAULT_FE55, RunSummary, type Fe55Options } from './runSummary';
