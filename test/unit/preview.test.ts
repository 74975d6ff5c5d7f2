import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { imagePreview } from '../../src/reco/image/preview';
import { encodeGreyPng } from '../../src/reco/png';

describe('camera image preview', () => {
  it('subtracts the pedestal, rebins, and scales a spot to white over a black background', () => {
    const side = 64;
    const pedestal = {
      width: side,
      height: side,
      images: 1,
      mean: new Float32Array(side * side).fill(100),
      sigma: new Float32Array(side * side).fill(2),
    };
    const image = new Uint16Array(side * side).fill(100);
    for (let y = 40; y < 48; y++) for (let x = 8; x < 16; x++) image[y * side + x] = 600;
    const preview = imagePreview(image, pedestal, 8);
    expect(preview).toMatchObject({ width: 8, height: 8, rebin: 8 });
    expect(preview.pixels[5 * 8 + 1]).toBe(255); // the block holding the spot
    expect(preview.pixels[0]).toBe(0);
    expect(Math.max(...preview.pixels.filter((_, i) => i !== 5 * 8 + 1))).toBe(0);
  });
});

describe('encodeGreyPng', () => {
  it('writes a valid 8-bit greyscale PNG whose pixels read back', () => {
    const pixels = Uint8Array.from({ length: 12 }, (_, i) => i * 20);
    const png = encodeGreyPng(4, 3, pixels);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
    expect(png.subarray(12, 16).toString()).toBe('IHDR');
    expect([png.readUInt32BE(16), png.readUInt32BE(20), png[24], png[25]]).toEqual([4, 3, 8, 0]);
    const idatLength = png.readUInt32BE(33);
    expect(png.subarray(37, 41).toString()).toBe('IDAT');
    const raw = inflateSync(png.subarray(41, 41 + idatLength));
    const rows = [0, 1, 2].map((y) => [...raw.subarray(y * 5 + 1, y * 5 + 5)]);
    expect(rows.flat()).toEqual([...pixels]);
    expect(raw.filter((_, i) => i % 5 === 0)).toEqual(Buffer.from([0, 0, 0]));
  });
});
