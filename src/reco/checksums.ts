// Streaming checksums of raw data, each one pass over the bytes: adler32 (what XRootD/dCache
// and Rucio use for HEP replicas) and CRC-32C (what MIDAS's mlogger writes in .crc32c sidecars).

/** Adler-32, updated chunk by chunk; `hex` gives the 8-digit form Rucio stores. */
export class Adler32 {
  private a = 1;
  private b = 0;

  update(data: Uint8Array): this {
    let { a, b } = this;
    // 5552 is the largest run of bytes before the sums must be reduced mod 65521 (zlib's NMAX).
    for (let start = 0; start < data.length; start += 5552) {
      const end = Math.min(start + 5552, data.length);
      for (let i = start; i < end; i++) {
        a += data[i];
        b += a;
      }
      a %= 65521;
      b %= 65521;
    }
    this.a = a;
    this.b = b;
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
