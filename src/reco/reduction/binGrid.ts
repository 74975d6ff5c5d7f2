import type { RecoParameters } from '../image/parameters';
import type { PedestalMap } from '../image/pedestal';
import type { BinGrid } from './roi';

/** The bin grid of the reconstruction (acceptance window and rebinning) on this camera. */
export function binGridOf(
  map: Pick<PedestalMap, 'width' | 'height'>,
  parameters: RecoParameters,
): BinGrid {
  const window = parameters.acceptance ?? {
    xMin: 0,
    xMax: map.width - 1,
    yMin: 0,
    yMax: map.height - 1,
  };
  const x0 = Math.max(0, window.xMin);
  const y0 = Math.max(0, window.yMin);
  const x1 = Math.min(map.width - 1, window.xMax);
  const y1 = Math.min(map.height - 1, window.yMax);
  return {
    rebin: parameters.rebin,
    binsWide: Math.ceil((x1 - x0 + 1) / parameters.rebin),
    binsHigh: Math.ceil((y1 - y0 + 1) / parameters.rebin),
    x0,
    y0,
    x1,
    y1,
    width: map.width,
  };
}
