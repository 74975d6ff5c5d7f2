// Synthetic CYGNO runs with ground truth: the DAQ simulator and the reconstruction's test data.
export {
  cameraConditions,
  cameraImage,
  type CameraConditions,
  type InjectedCluster,
} from './camera';
export { cygnoRunOdb } from './odb';
export { pmtWaveforms } from './pmt';
export { Random } from './random';
export { writeSimulatedRun, type RunTruth, type SimulatedRun, type SimulatedRunSpec } from './run';
