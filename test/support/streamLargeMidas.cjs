// Streams a synthetic MIDAS run of at least TOTAL_BYTES through the compiled reader and prints
// what it saw and the peak RSS as JSON. Events (2304x2304 u16 camera images, ~10.6 MB) are cut
// into 1 MiB chunks, so every event crosses chunk borders as it does when read from disk.
'use strict';
const { Readable } = require('node:stream');
const {
  encodeDataEvent,
  encodeOdbEvent,
  readMidasEvents,
  TID,
} = require('../../dist/src/reco/midas');

const TOTAL_BYTES = Number(process.argv[2] ?? 2.1e9);
const CHUNK = 1 << 20;
const image = new Uint16Array(2304 * 2304).fill(100);
const event = encodeDataEvent(
  { eventId: 1, serial: 0, time: 1795600000 },
  [{ name: 'CAM0', type: TID.UINT16, data: image }],
  'BANK32A',
);
const bor = encodeOdbEvent('BOR', 1, 1795600000, JSON.stringify({ Runinfo: { 'Run number': 1 } }));
const eventsWanted = Math.ceil(TOTAL_BYTES / event.length);

function* chunks() {
  // A stream of BOR + N events, sliced into 1 MiB pieces without materialising the file.
  let pending = Buffer.alloc(0);
  yield bor;
  for (let i = 0; i < eventsWanted; i++) {
    event.writeUInt32LE(i, 4); // serial
    let offset = 0;
    if (pending.length > 0) {
      const fill = CHUNK - pending.length;
      yield Buffer.concat([pending, event.subarray(0, fill)]);
      offset = fill;
    }
    for (; offset + CHUNK <= event.length; offset += CHUNK)
      yield Buffer.from(event.subarray(offset, offset + CHUNK));
    pending = Buffer.from(event.subarray(offset));
  }
  if (pending.length) yield pending;
}

(async () => {
  let peak = process.memoryUsage().rss;
  let events = 0;
  let bytes = 0;
  let pixelSum = 0;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  for await (const e of readMidasEvents(Readable.from(chunks(), { objectMode: false }))) {
    events++;
    bytes += 16 + e.dataSize;
    if (e.kind === 'DATA') pixelSum += e.banks[0].bytes.length;
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  clearInterval(timer);
  process.stdout.write(
    JSON.stringify({ events, bytes, pixelBytes: pixelSum, peakRssBytes: peak }) + '\n',
  );
})().catch((error) => {
  process.stderr.write(String(error && error.stack) + '\n');
  process.exit(1);
});
