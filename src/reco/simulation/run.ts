import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { once } from 'node:events';
import zlib from 'node:zlib';
import { encodeDataEvent, encodeOdbEvent } from '../midas/writer';
import { TID } from '../midas/format';
import { cameraConditions, cameraImage, type InjectedCluster } from './camera';
import { cygnoRunOdb } from './odb';
import { pmtWaveforms } from './pmt';
import { Random } from './random';

const CAMERA_SEED = 2304;

/** Spot light from a ⁵⁵Fe line: Gaussian, 12% σ (CYGNO's LIME resolves it to about that). */
function fe55Spot(line: number): (random: Random) => number {
  return (random) => Math.max(1_000, line * (1 + 0.12 * random.gaussian()));
}

export interface SimulatedRunSpec {
  runNumber: number;
  events: number;
  /** Camera image side in pixels (CYGNO: 2304). */
  side: number;
  pedestal: boolean;
  gzip: boolean;
  seed?: number;
  /** Seed of the camera's pedestal, noise and hot pixels (shared by all runs of one camera). */
  cameraSeed?: number;
  /** Unix time of the first event. */
  startTime?: number;
  /** Event rate for timestamps (and pacing, when `pace` is set). */
  rateHz?: number;
  pace?: boolean;
  /**
   * Flush the compressed stream after each event (zlib's sync flush), as a logger does for a
   * reader that follows the file: without it, the end of an event waits in the compressor for
   * the next one.
   */
  flushEachEvent?: boolean;
  spotsPerImage?: number;
  tracksPerImage?: number;
  /**
   * Spots as a ⁵⁵Fe source makes them: a line at this many ADC with 12% resolution, instead of
   * the flat 4–20 k ADC spectrum.
   */
  fe55Line?: number;
  /** One INPT slow-control event every N camera events. */
  slowControlEvery?: number;
}

/** What the simulator injected, for the reconstruction's correctness tests. */
export interface RunTruth {
  runNumber: number;
  pedestal: boolean;
  side: number;
  hotPixels: number[];
  /** Per camera event (by serial): the clusters injected. */
  events: Array<{ serial: number; injected: InjectedCluster[] }>;
}

export interface SimulatedRun {
  sizeBytes: number;
  md5: string;
  truth: RunTruth;
}

/**
 * Writes a synthetic CYGNO run as MIDAS: BOR with the ODB, camera events (CAM0 u16 image,
 * DGH0/DIG0 PMT readout), INPT slow-control events with their own serial numbers, EOR.
 * Pedestal runs have no spots or tracks. Streams to disk: one image in memory at a time.
 */
export async function writeSimulatedRun(
  file: string,
  spec: SimulatedRunSpec,
  onEvent?: (serial: number) => void,
): Promise<SimulatedRun> {
  const random = new Random(spec.seed ?? spec.runNumber);
  const rate = spec.rateHz ?? 0.1;
  const start = spec.startTime ?? Math.floor(Date.now() / 1000);
  // The camera, not the run, owns its pedestal and hot pixels: every run of one simulated
  // camera shares them, so a pedestal run describes the data runs after it.
  const conditions = cameraConditions(new Random(spec.cameraSeed ?? CAMERA_SEED), spec.side);
  const truth: RunTruth = {
    runNumber: spec.runNumber,
    pedestal: spec.pedestal,
    side: spec.side,
    hotPixels: Array.from(conditions.hotPixels),
    events: [],
  };

  const out = fs.createWriteStream(file);
  const md5 = createHash('md5');
  const sink = spec.gzip ? zlib.createGzip({ level: 6 }) : undefined;
  const target = sink ?? out;
  if (sink) {
    sink.on('data', (chunk: Buffer) => md5.update(chunk));
    sink.pipe(out);
  }
  const write = async (buffer: Buffer) => {
    if (!sink) md5.update(buffer);
    if (!target.write(buffer)) await once(target, 'drain');
  };

  await write(
    encodeOdbEvent(
      'BOR',
      spec.runNumber,
      start,
      JSON.stringify(cygnoRunOdb(spec.runNumber, { pedestal: spec.pedestal, startTime: start })),
    ),
  );
  let slowControlSerial = 0;
  for (let serial = 0; serial < spec.events; serial++) {
    const time = start + Math.floor(serial / rate);
    const { image, injected } = cameraImage(random, conditions, {
      spots: spec.pedestal ? 0 : (spec.spotsPerImage ?? 3),
      tracks: spec.pedestal ? 0 : (spec.tracksPerImage ?? 1),
      spotIntegral: spec.fe55Line ? fe55Spot(spec.fe55Line) : undefined,
    });
    const pmt = pmtWaveforms(random, injected.length);
    truth.events.push({ serial, injected });
    await write(
      encodeDataEvent({ eventId: 1, triggerMask: 1, serial, time }, [
        { name: 'CAM0', type: TID.UINT16, data: image },
        { name: 'DGH0', type: TID.UINT32, data: pmt.header },
        { name: 'DIG0', type: TID.UINT16, data: pmt.waveforms },
      ]),
    );
    if ((serial + 1) % (spec.slowControlEvery ?? 5) === 0) {
      // Pressure (mbar), temperature (°C), humidity (%), gas flow (l/h): the INPT bank.
      const inputs = Float32Array.from([
        990 + random.gaussian(),
        21 + 0.1 * random.gaussian(),
        40 + random.gaussian(),
        5 + 0.05 * random.gaussian(),
      ]);
      await write(
        encodeDataEvent({ eventId: 2, triggerMask: 0, serial: slowControlSerial++, time }, [
          { name: 'INPT', type: TID.FLOAT, data: inputs },
        ]),
      );
    }
    if (sink && spec.flushEachEvent)
      await new Promise<void>((resolve) => sink.flush(() => resolve()));
    onEvent?.(serial);
    if (spec.pace) await new Promise((resolve) => setTimeout(resolve, 1000 / rate));
  }
  const stop = start + Math.ceil(spec.events / rate);
  await write(
    encodeOdbEvent(
      'EOR',
      spec.runNumber,
      stop,
      JSON.stringify(
        cygnoRunOdb(spec.runNumber, {
          pedestal: spec.pedestal,
          startTime: start,
          stopTime: stop,
          eventsSent: spec.events,
        }),
      ),
    ),
  );
  target.end();
  await once(out, 'finish');
  return { sizeBytes: fs.statSync(file).size, md5: md5.digest('hex'), truth };
}
