// Camera image reconstruction (DESIGN §7): pure functions on typed arrays, no server code.
export { gridDbscan, type GridPoints } from './dbscan';
export { RecoInputError } from './errors';
export { clusterFeatures, type ClusterFeatures } from './features';
export { CYGNO_DEFAULTS, recoParameters, type RecoParameters, type Window } from './parameters';
export {
  decodePedestalMap,
  encodePedestalMap,
  PedestalAccumulator,
  pedestalSummary,
  sharePedestalMap,
  type PedestalMap,
} from './pedestal';
export {
  adoptDerivedMaps,
  checkImage,
  derivedMaps,
  reconstructImage,
  type DerivedMaps,
  type ImageReconstruction,
  type ImageSummary,
} from './reconstruct';
