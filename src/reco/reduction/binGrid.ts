import { acceptedWindow, type RecoParameters } from '../image/parameters';
import type { PedestalMap } from '../image/pedestal';
import type { BinGrid } from './roi';

/** The bin grid of the reconstruction (acceptance window and rebinning) on this camera. */
export function binGridOf(
  map: Pick<PedestalMap, 'width' | 'height'>,
  parameters: Pick<RecoParameters, 'acceptance' | 'rebin'>,
): BinGrid {
  const window = acceptedWindow(parameters.acceptance, map.width, map.height);
  const { rebin } = parameters;
  return {
    rebin,
    binsWide: Math.ceil((window.xMax - window.xMin + 1) / rebin),
    binsHigh: Math.ceil((window.yMax - window.yMin + 1) / rebin),
    x0: window.xMin,
    y0: window.yMin,
    x1: window.xMax,
    y1: window.yMax,
    width: map.width,
  };
}
