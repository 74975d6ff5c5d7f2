import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  bankArray,
  CompressionError,
  decodeLz4Block,
  eventText,
  indexMidasEvents,
  MidasFormatError,
  odbGet,
  parseOdbDump,
  readMidasEvents,
  readMidasFile,
  xxh32,
  type MidasEvent,
} from '../../src/reco/midas';
import { lcg, SYNTHETIC_ODB, syntheticMidasFile } from '../support/midasFixtures';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'midas');
const SAMPLE = path.join(FIXTURES, '51230216_125838_F0001.mid.gz');

async function readAll(source: AsyncIterable<Buffer>): Promise<MidasEvent[]> {
  const events: MidasEvent[] = [];
  for await (const event of readMidasEvents(source)) events.push(event);
  return events;
}

/** Splits a buffer into chunks of odd sizes, so that events and headers cross chunk borders. */
function chunked(buffer: Buffer, size = 777): Readable {
  const chunks: Buffer[] = [];
  for (let i = 0; i < buffer.length; i += size) chunks.push(buffer.subarray(i, i + size));
  return Readable.from(chunks);
}

describe('MIDAS reader on a real file from another DAQ', () => {
  it('reads the XML BOR with its byte-swapped mask and the two 32-bit data events', async () => {
    const events: MidasEvent[] = [];
    for await (const event of readMidasFile(SAMPLE)) events.push(event);
    expect(events.map((e) => e.kind)).toEqual(['BOR', 'DATA', 'DATA']);
    const [bor, first, second] = events;
    expect(bor).toMatchObject({ offset: 0, dataSize: 17_628, triggerMask: 0x4d49, serial: 0 });
    const odb = parseOdbDump(eventText(bor));
    expect(odb.Experiment).toBeTypeOf('object');
    expect(odbGet(odb, '/experiment/edit on start/data type')).toBe(0);
    for (const event of [first, second]) {
      expect(event).toMatchObject({ eventId: 1, bankFormat: 'BANK32' });
      expect(event.banks.map((b) => [b.name, b.type])).toEqual([
        ['SCD0', 6],
        ['LDV0', 6],
        ['DMC0', 6],
      ]);
    }
    expect(second.offset).toBe(first.offset + 16 + first.dataSize);
    expect(second.offset + 16 + second.dataSize).toBe(877_492);
    const scd0 = bankArray(first.banks[0]);
    expect(scd0).toBeInstanceOf(Uint32Array);
    expect(scd0.length).toBe(first.banks[0].bytes.length / 4);
  });
});

describe('MIDAS reader on synthetic files', () => {
  const plain = syntheticMidasFile();

  it('reads every event, bank format and type from a plain file split at odd chunk borders', async () => {
    const events = await readAll(chunked(plain));
    expect(events).toHaveLength(34);
    expect(events.map((e) => e.kind).filter((k, i, all) => all.indexOf(k) === i)).toEqual([
      'BOR',
      'DATA',
      'MESSAGE',
      'EOR',
    ]);
    expect(parseOdbDump(eventText(events[0]))).toEqual(SYNTHETIC_ODB);
    expect(odbGet(parseOdbDump(eventText(events[33])), '/Runinfo/Stop time')).toBe(
      'Tue Nov 24 18:01:00 2026',
    );
    expect(eventText(events[32])).toBe('run is going well');
    expect(events.slice(1, 4).map((e) => e.bankFormat)).toEqual(['BANK16', 'BANK32', 'BANK32A']);
    const random = lcg(7);
    for (const event of events.slice(1, 31)) {
      expect(event.banks.map((b) => b.name)).toEqual(['CAM0', 'DGH0', 'DIG0', 'INPT', 'TXT']);
      const image = bankArray(event.banks[0]) as Uint16Array;
      expect(image).toBeInstanceOf(Uint16Array);
      expect(image.length).toBe(4096);
      expect(image[0]).toBe(90 + Math.floor(random() * 20));
      for (let i = 1; i < 4096; i++) random();
      expect(Array.from(bankArray(event.banks[1]) as Uint32Array)).toEqual([event.serial, 2, 3]);
      expect((bankArray(event.banks[2]) as Float32Array)[5]).toBeCloseTo(Math.sin(1));
      expect((bankArray(event.banks[3]) as Float64Array)[0]).toBe(event.serial * 0.5);
      expect(Buffer.from(event.banks[4].bytes).toString()).toBe('hello');
    }
    expect(events[31]).toMatchObject({ eventId: 2, banks: [] });
    let offset = 0;
    for (const event of events) {
      expect(event.offset).toBe(offset);
      offset += 16 + event.dataSize;
    }
    expect(offset).toBe(plain.length);
  });

  it('gives views into the event buffer, not copies', async () => {
    const [, event] = await readAll(Readable.from([plain]));
    const image = bankArray(event.banks[0]);
    expect(image.buffer === event.data.buffer).toBe(true);
  });

  it('with reuseBuffer, assembles events across chunks in one buffer, with the same bytes', async () => {
    const expected = await readAll(chunked(plain));
    const assembled = new Set<ArrayBufferLike>();
    let index = 0;
    for await (const event of readMidasEvents(chunked(plain), { reuseBuffer: true })) {
      // Valid until the next event is asked for: compared here, before the loop reads on.
      expect(Buffer.from(event.data)).toEqual(Buffer.from(expected[index].data));
      expect(event.banks.map((b) => b.name)).toEqual(expected[index].banks.map((b) => b.name));
      if (event.banks.length === 5) assembled.add(event.data.buffer); // the 30 camera events
      index++;
    }
    expect(index).toBe(expected.length);
    // 30 camera events in at most two buffers: the buffer grows (doubling) to the largest.
    expect(assembled.size).toBeLessThanOrEqual(2);
  });

  it('with reuseBuffer, aligns an event that lies in one chunk at an odd address', async () => {
    const odd = Buffer.concat([Buffer.alloc(4), plain]).subarray(4);
    const expected = await readAll(Readable.from([plain]));
    let index = 0;
    for await (const event of readMidasEvents(Readable.from([odd]), { reuseBuffer: true })) {
      expect(event.data.byteOffset % 8).toBe(0);
      if (event.kind === 'DATA' && event.banks.length > 0)
        expect(Array.from(bankArray(event.banks[0]) as Uint16Array)).toEqual(
          Array.from(bankArray(expected[index].banks[0]) as Uint16Array),
        );
      index++;
    }
    expect(index).toBe(expected.length);
  });

  it('reads gzip, including multi-member gzip', async () => {
    const gz = zlib.gzipSync(plain);
    expect((await readAll(chunked(gz, 5000))).length).toBe(34);
    const twoMembers = Buffer.concat([
      zlib.gzipSync(plain.subarray(0, 1000)),
      zlib.gzipSync(plain.subarray(1000)),
    ]);
    expect((await readAll(Readable.from([twoMembers]))).length).toBe(34);
  });

  it('reads an LZ4 frame with linked blocks written by the lz4 tool, checking its content checksum', async () => {
    const lz4 = fs.readFileSync(path.join(FIXTURES, 'synthetic.mid.lz4'));
    expect(lz4[4] & 0x20).toBe(0); // linked blocks
    const events = await readAll(chunked(lz4, 1000));
    expect(events).toHaveLength(34);
    const decoded = Buffer.concat(
      events.map((e) => Buffer.from(e.data.buffer, e.data.byteOffset - 16, e.dataSize + 16)),
    );
    expect(decoded.equals(plain)).toBe(true);
  });

  it('refuses an LZ4 frame whose content checksum does not match', async () => {
    const lz4 = Buffer.from(fs.readFileSync(path.join(FIXTURES, 'synthetic.mid.lz4')));
    lz4[lz4.length - 1] ^= 0xff;
    await expect(readAll(Readable.from([lz4]))).rejects.toThrow(CompressionError);
    await expect(readAll(Readable.from([lz4]))).rejects.toThrow(/content checksum mismatch/);
  });
});

describe('MIDAS index reader (what INGEST uses)', () => {
  const plain = syntheticMidasFile();

  async function indexAll(source: AsyncIterable<Buffer>) {
    const events = [];
    for await (const event of indexMidasEvents(source)) events.push(event);
    return events;
  }

  /** What both readers must agree on, bank data aside. */
  const outline = (event: Omit<MidasEvent, 'data' | 'banks'> & { banks: unknown[] }) => ({
    index: event.index,
    offset: event.offset,
    kind: event.kind,
    eventId: event.eventId,
    triggerMask: event.triggerMask,
    serial: event.serial,
    time: event.time,
    dataSize: event.dataSize,
    bankFormat: event.bankFormat,
  });

  it('agrees with the full reader on every event, bank and place, across any chunk borders', async () => {
    const full = await readAll(Readable.from([plain]));
    for (const size of [5, 777, 1 << 20]) {
      const indexed = await indexAll(chunked(plain, size));
      expect(indexed.map(outline)).toEqual(full.map(outline));
      expect(
        indexed.map((event) =>
          event.banks.map(({ name, type, offset, size: n }) => [name, type, offset, n]),
        ),
      ).toEqual(
        full.map((event) =>
          event.banks.map((bank) => [bank.name, bank.type, bank.offset, bank.bytes.length]),
        ),
      );
      expect(indexed.every((event) => (event.kind === 'DATA') === (event.data === undefined))).toBe(
        true,
      );
      expect(parseOdbDump(eventText(indexed[0]))).toEqual(SYNTHETIC_ODB);
      expect(eventText(indexed[32])).toBe('run is going well');
    }
  });

  it('reads the real file of another DAQ as the full reader does', async () => {
    const source = () => fs.createReadStream(SAMPLE, { highWaterMark: 4096 });
    const full = await readAll(source());
    const indexed = await indexAll(source());
    expect(indexed.map(outline)).toEqual(full.map(outline));
    expect(indexed.map((e) => e.banks.map((b) => b.name))).toEqual(
      full.map((e) => e.banks.map((b) => b.name)),
    );
  });

  it('refuses the same bad input with the same message', async () => {
    const truncated = plain.subarray(0, 20_000);
    const overrun = Buffer.from(plain);
    overrun.writeUInt16LE(0xffff, 16 + overrun.readUInt32LE(12) + 16 + 8 + 6);
    const random = lcg(99);
    const garbage = Buffer.from(Array.from({ length: 100_000 }, () => Math.floor(random() * 256)));
    for (const bad of [truncated, overrun, garbage]) {
      const expected = await readAll(chunked(bad)).catch((e: Error) => e);
      const actual = await indexAll(chunked(bad)).catch((e: Error) => e);
      expect(expected).toBeInstanceOf(MidasFormatError);
      expect(actual).toBeInstanceOf(MidasFormatError);
      expect((actual as Error).message).toBe((expected as Error).message);
    }
  });
});

describe('bad input', () => {
  const plain = syntheticMidasFile();

  it('names the offset and event of a truncated file', async () => {
    const cut = plain.subarray(0, 20_000);
    const error = await readAll(chunked(cut)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MidasFormatError);
    expect((error as MidasFormatError).message).toMatch(
      /^event #\d+ at byte \d+: truncated event: header declares \d+ data bytes, only \d+ follow$/,
    );
    expect((error as MidasFormatError).eventIndex).toBeGreaterThan(0);
  });

  it('names a truncated gzip stream', async () => {
    const gz = zlib.gzipSync(plain);
    await expect(readAll(Readable.from([gz.subarray(0, gz.length - 100)]))).rejects.toThrow(
      /gzip: unexpected end of file \(truncated\?\) after \d+ decompressed bytes/,
    );
  });

  it('refuses random bytes with a clear error', async () => {
    const random = lcg(99);
    const garbage = Buffer.from(Array.from({ length: 100_000 }, () => Math.floor(random() * 256)));
    const error = await readAll(Readable.from([garbage])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MidasFormatError);
    expect((error as Error).message).toMatch(/^event #0 at byte \d+: /);
  });

  it('refuses banks that run past their event', async () => {
    const broken = Buffer.from(plain);
    const firstData = 16 + broken.readUInt32LE(12); // after the BOR
    broken.writeUInt16LE(0xffff, firstData + 16 + 8 + 6); // CAM0 size in a 16-bit bank
    await expect(readAll(Readable.from([broken]))).rejects.toThrow(
      /bank "CAM0" declares 65535 bytes/,
    );
  });

  it('refuses a BOR without the MIDAS trigger mask', async () => {
    const broken = Buffer.from(plain);
    broken.writeUInt16LE(0x1234, 2);
    await expect(readAll(Readable.from([broken]))).rejects.toThrow(
      /^event #0 at byte 2: BOR event with trigger mask 0x1234/,
    );
  });
});

describe('checksums and codecs', () => {
  it('computes XXH32 as the reference does', () => {
    expect(xxh32(Buffer.alloc(0))).toBe(0x02cc5d05);
    expect(xxh32(Buffer.from('abc'))).toBe(0x32d153ff);
  });

  it('decodes overlapping LZ4 matches', () => {
    // "a" then a match of 9 bytes at offset 1: "aaaaaaaaaa", then literal "b".
    const block = Uint8Array.from([0x15, 0x61, 0x01, 0x00, 0x10, 0x62]);
    const out = new Uint8Array(64);
    const end = decodeLz4Block(block, out, 0);
    expect(Buffer.from(out.subarray(0, end)).toString()).toBe('aaaaaaaaaab');
    expect(() =>
      decodeLz4Block(Uint8Array.from([0x10, 0x61, 0x05, 0x00]), new Uint8Array(64), 0),
    ).toThrow(/match offset 5/);
  });
});
