// Streaming checksums of raw data, each one pass over the bytes: adler32 (what XRootD/dCache
// and Rucio use for HEP replicas) and CRC-32C (what MIDAS's mlogger writes in .crc32c sidecars).

/** Adler-32, updated chunk by chunk; `hex` gives the 8-digit form Rucio stores. */
export class Adler32 {
  private a = 1;
  private b = 0;

  update(data: Uint8Array): this {
    let { a, b } = this;
    // Bytes up to a 4-byte boundary one by one, then four at a time from 32-bit words
    // (little-endian: the first byte is the low one): a quarter of the loads and loop steps.
    let i = 0;
    const head = Math.min(data.length, (4 - (data.byteOffset & 3)) & 3);
    for (; i < head; i++) {
      a += data[i];
      b += a;
    }
    const words =
      data.length - i >= 4
        ? new Uint32Array(data.buffer, data.byteOffset + i, (data.length - i) >>> 2)
        : new Uint32Array(0);
    // 1388 words are 5552 bytes, zlib's NMAX: the longest run before the sums need reducing
    // mod 65521 (they stay exact integers far beyond it here, in doubles).
    for (let start = 0; start < words.length; start += 1388) {
      const end = Math.min(start + 1388, words.length);
      for (let j = start; j < end; j++) {
        const word = words[j];
        const x0 = word & 0xff;
        const x1 = (word >>> 8) & 0xff;
        const x2 = (word >>> 16) & 0xff;
        const x3 = word >>> 24;
        // Four steps of "a += x; b += a" at once.
        b += 4 * a + 4 * x0 + 3 * x1 + 2 * x2 + x3;
        a += x0 + x1 + x2 + x3;
      }
      a %= 65521;
      b %= 65521;
    }
    for (i += words.length * 4; i < data.length; i++) {
      a += data[i];
      b += a;
    }
    this.a = a % 65521;
    this.b = b % 65521;
    return this;
  }

  digest(): number {
    return ((this.b << 16) | this.a) >>> 0;
  }

  hex(): string {
    return this.digest().toString(16).padStart(8, '0');
  }
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256 * 8);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[n] = c >>> 0;
  }
  // Slicing-by-8 tables: eight bytes per step instead of one.
  for (let n = 0; n < 256; n++) {
    let c = table[n];
    for (let k = 1; k < 8; k++) {
      c = table[c & 0xff] ^ (c >>> 8);
      table[k * 256 + n] = c >>> 0;
    }
  }
  return table;
})();

/** CRC-32C (Castagnoli), slicing-by-8. */
export class Crc32c {
  private crc = 0xffffffff;

  update(data: Uint8Array): this {
    const t = CRC32C_TABLE;
    let crc = this.crc;
    let i = 0;
    const end8 = data.length - (data.length % 8);
    for (; i < end8; i += 8) {
      const lo = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
      crc =
        t[1792 + (lo & 0xff)] ^
        t[1536 + ((lo >>> 8) & 0xff)] ^
        t[1280 + ((lo >>> 16) & 0xff)] ^
        t[1024 + (lo >>> 24)] ^
        t[768 + data[i + 4]] ^
        t[512 + data[i + 5]] ^
        t[256 + data[i + 6]] ^
        t[data[i + 7]];
    }
    for (; i < data.length; i++) crc = t[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
    this.crc = crc >>> 0;
    return this;
  }

  digest(): number {
    return (this.crc ^ 0xffffffff) >>> 0;
  }

  hex(): string {
    return this.digest().toString(16).padStart(8, '0');
  }
}

/** A `.crc32c` sidecar as mlogger writes it: "%08lx %.0f %s" (crc32c, size, file name). */
export interface Crc32cSidecar {
  crc32c: string;
  sizeBytes: number;
  name: string;
}

export function parseCrc32cSidecar(text: string): Crc32cSidecar {
  const match = /^\s*([0-9a-fA-F]{1,8})\s+(\d+)\s+(\S.*?)\s*$/.exec(text);
  if (!match) throw new Error(`not a .crc32c sidecar: "${text.slice(0, 80)}"`);
  return {
    crc32c: match[1].toLowerCase().padStart(8, '0'),
    sizeBytes: Number(match[2]),
    name: match[3],
  };
}
