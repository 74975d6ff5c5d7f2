import fs from 'node:fs';
import path from 'node:path';
import { cameraImageOf } from '../../src/reco/cameraBank';
import { PedestalAccumulator, type PedestalMap } from '../../src/reco/image';
import { readMidasEvents } from '../../src/reco/midas';
import { writeSimulatedRun } from '../../src/reco/simulation';

/** A simulated pedestal run (run 1, gzip) in `dir`, and the pedestal map of its images. */
export async function simulatedPedestal(
  dir: string,
  side: number,
  events: number,
): Promise<{ file: string; map: PedestalMap }> {
  const file = path.join(dir, 'run00001.mid.gz');
  await writeSimulatedRun(file, { runNumber: 1, events, side, pedestal: true, gzip: true });
  const accumulator = new PedestalAccumulator(side, side);
  for await (const event of readMidasEvents(fs.createReadStream(file))) {
    const image = cameraImageOf(event, 'CAM0');
    if (image) accumulator.add(image);
  }
  return { file, map: accumulator.result() };
}
