import fs from 'node:fs';
import { encodeDataEvent, encodeMessageEvent, encodeOdbEvent, TID } from '../../src/reco/midas';
import { cygnoRunOdb } from '../../src/reco/simulation';

/** A small deterministic pseudo-random generator (tests must produce the same bytes every time). */
export function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

export const SYNTHETIC_ODB = {
  Runinfo: { 'Run number': 4242, 'Start time': 'Tue Nov 24 18:00:00 2026' },
  Configurations: { Pedestal: false, Exposure: 0.3 },
};

/**
 * A MIDAS file with every feature the reader must take: a JSON BOR, data events in 16-bit,
 * 32-bit and 32-bit-aligned banks (u16 image, u32, f32, f64, odd-sized char data), an event
 * without banks, a message, an EOR.
 */
export function syntheticMidasFile(): Buffer {
  const random = lcg(7);
  const events: Buffer[] = [
    encodeOdbEvent('BOR', 4242, 1_795_600_000, JSON.stringify(SYNTHETIC_ODB)),
  ];
  const formats = ['BANK16', 'BANK32', 'BANK32A'] as const;
  for (let serial = 0; serial < 30; serial++) {
    const image = new Uint16Array(64 * 64).map(() => 90 + Math.floor(random() * 20));
    const waveform = new Float32Array(100).map((_, i) => Math.sin(i / 5));
    events.push(
      encodeDataEvent(
        { eventId: 1, triggerMask: 1, serial, time: 1_795_600_001 + serial },
        [
          { name: 'CAM0', type: TID.UINT16, data: image },
          { name: 'DGH0', type: TID.UINT32, data: new Uint32Array([serial, 2, 3]) },
          { name: 'DIG0', type: TID.FLOAT, data: waveform },
          { name: 'INPT', type: TID.DOUBLE, data: new Float64Array([serial * 0.5]) },
          { name: 'TXT', type: TID.CHAR, data: Buffer.from('hello') },
        ],
        formats[serial % 3],
      ),
    );
  }
  events.push(encodeDataEvent({ eventId: 2, serial: 30, time: 1_795_600_040 }, [], 'BANK32A'));
  events.push(encodeMessageEvent(31, 1_795_600_041, 'run is going well'));
  events.push(
    encodeOdbEvent(
      'EOR',
      4242,
      1_795_600_050,
      JSON.stringify({ Runinfo: { 'Run number': 4242, 'Stop time': 'Tue Nov 24 18:01:00 2026' } }),
    ),
  );
  return Buffer.concat(events);
}

const START = 1_795_600_000;
const STOP = START + 60;
const borOdb = (runNumber: number) =>
  JSON.stringify(cygnoRunOdb(runNumber, { pedestal: false, startTime: START }));
const eorOdb = (runNumber: number, events: number) =>
  JSON.stringify(
    cygnoRunOdb(runNumber, {
      pedestal: false,
      startTime: START,
      stopTime: STOP,
      eventsSent: events,
    }),
  );

/** A small, complete CYGNO-like run file: BOR, `events` camera events (64×64), EOR. */
export function smallMidasRun(runNumber: number, events = 3, imageSide = 64): Buffer {
  const random = lcg(runNumber);
  const parts: Buffer[] = [encodeOdbEvent('BOR', runNumber, START, borOdb(runNumber))];
  for (let serial = 0; serial < events; serial++) {
    const image = new Uint16Array(imageSide * imageSide).map(() => 95 + Math.floor(random() * 10));
    parts.push(
      encodeDataEvent({ eventId: 1, triggerMask: 1, serial, time: 1_795_600_001 + serial }, [
        { name: 'CAM0', type: TID.UINT16, data: image },
        { name: 'DGH0', type: TID.UINT32, data: new Uint32Array([serial]) },
      ]),
    );
  }
  parts.push(encodeOdbEvent('EOR', runNumber, STOP, eorOdb(runNumber, events)));
  return Buffer.concat(parts);
}

/**
 * Writes a large CYGNO-like run without holding it in memory: BOR, `events` full-size camera
 * events (2304×2304 u16, ~10.6 MB each), EOR. Returns its size in bytes.
 */
export function writeLargeMidasRun(file: string, runNumber: number, events: number): number {
  const fd = fs.openSync(file, 'w');
  try {
    let size = 0;
    const write = (buffer: Buffer) => {
      fs.writeSync(fd, buffer);
      size += buffer.length;
    };
    write(encodeOdbEvent('BOR', runNumber, START, borOdb(runNumber)));
    const image = new Uint16Array(2304 * 2304);
    const random = lcg(runNumber);
    for (let i = 0; i < image.length; i += 97) image[i] = 90 + Math.floor(random() * 20);
    const event = encodeDataEvent({ eventId: 1, triggerMask: 1, serial: 0, time: 1_795_600_001 }, [
      { name: 'CAM0', type: TID.UINT16, data: image },
    ]);
    for (let serial = 0; serial < events; serial++) {
      event.writeUInt32LE(serial, 4);
      write(event);
    }
    write(encodeOdbEvent('EOR', runNumber, STOP, eorOdb(runNumber, events)));
    return size;
  } finally {
    fs.closeSync(fd);
  }
}
