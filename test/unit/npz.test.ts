import { describe, expect, it } from 'vitest';
import zlib from 'node:zlib';
import {
  crc32Combine,
  decodeNpy,
  NpzWriter,
  readZip,
  StreamedArray,
} from '../../src/reco/reduction/npz';

describe('npz (reduced files)', () => {
  it('writes members that read back, byte for byte the same each time', () => {
    const write = () => {
      const writer = new NpzWriter();
      writer.addArray('serial', Uint32Array.from([0, 1, 7]));
      const pixels = new StreamedArray(Int16Array);
      pixels.append(Int16Array.from([1, -2]));
      pixels.append(Int16Array.from([3, 4, 5]));
      writer.addStreamed('pixels', pixels);
      writer.addArray('spark', Uint8Array.from([1, 0, 1]), true);
      writer.addArray('offset', BigInt64Array.from([5n, 1n << 40n]));
      writer.addStreamed('empty', new StreamedArray(Int32Array));
      writer.addJson('metadata.json', { run: 42 });
      return Buffer.concat(writer.finish());
    };
    const file = write();
    expect(write().equals(file)).toBe(true);
    const members = readZip(file);
    expect([...members.keys()]).toEqual([
      'serial.npy',
      'pixels.npy',
      'spark.npy',
      'offset.npy',
      'empty.npy',
      'metadata.json',
    ]);
    expect(Array.from(decodeNpy(members.get('pixels.npy')!).values as Int16Array)).toEqual([
      1, -2, 3, 4, 5,
    ]);
    expect(decodeNpy(members.get('spark.npy')!).descr).toBe('|b1');
    expect(Array.from(decodeNpy(members.get('offset.npy')!).values as BigInt64Array)).toEqual([
      5n,
      1n << 40n,
    ]);
    expect(decodeNpy(members.get('empty.npy')!).values).toHaveLength(0);
    expect(JSON.parse(members.get('metadata.json')!.toString())).toEqual({ run: 42 });
    // A flipped byte in a member is caught by its CRC.
    const corrupt = Buffer.from(file);
    corrupt[40] ^= 0xff;
    expect(() => readZip(corrupt)).toThrow(/CRC|invalid|incorrect/i);
  });

  it("combines CRCs as zlib's crc32_combine does", () => {
    for (const [a, b] of [
      ['header', 'pixels of one event'],
      ['', 'x'],
      ['x', ''],
      ['a'.repeat(1000), 'b'.repeat(70_000)],
    ]) {
      const [ba, bb] = [Buffer.from(a), Buffer.from(b)];
      expect(crc32Combine(zlib.crc32(ba), zlib.crc32(bb), bb.length)).toBe(
        zlib.crc32(Buffer.concat([ba, bb])),
      );
    }
  });
});
