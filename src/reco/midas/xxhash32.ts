/** Streaming XXH32 (the checksum of LZ4 frames), on 32-bit integer arithmetic. */
const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;
const round = (acc: number, lane: number) =>
  Math.imul(rotl((acc + Math.imul(lane, PRIME2)) >>> 0, 13), PRIME1) >>> 0;

export class Xxh32 {
  private v1: number;
  private v2: number;
  private v3: number;
  private v4: number;
  private total = 0;
  private readonly pending = Buffer.alloc(16);
  private pendingLength = 0;

  constructor(private readonly seed = 0) {
    this.v1 = (seed + PRIME1 + PRIME2) >>> 0;
    this.v2 = (seed + PRIME2) >>> 0;
    this.v3 = seed >>> 0;
    this.v4 = (seed - PRIME1) >>> 0;
  }

  update(data: Uint8Array): this {
    this.total += data.length;
    let offset = 0;
    if (this.pendingLength > 0) {
      const take = Math.min(16 - this.pendingLength, data.length);
      this.pending.set(data.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < 16) return this;
      this.stripe(this.pending, 0);
      this.pendingLength = 0;
    }
    const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    for (; offset + 16 <= data.length; offset += 16) this.stripe(view, offset);
    if (offset < data.length) {
      this.pending.set(data.subarray(offset), 0);
      this.pendingLength = data.length - offset;
    }
    return this;
  }

  private stripe(buf: Buffer, at: number): void {
    this.v1 = round(this.v1, buf.readUInt32LE(at));
    this.v2 = round(this.v2, buf.readUInt32LE(at + 4));
    this.v3 = round(this.v3, buf.readUInt32LE(at + 8));
    this.v4 = round(this.v4, buf.readUInt32LE(at + 12));
  }

  digest(): number {
    let h =
      this.total >= 16
        ? (rotl(this.v1, 1) + rotl(this.v2, 7) + rotl(this.v3, 12) + rotl(this.v4, 18)) >>> 0
        : (this.seed + PRIME5) >>> 0;
    h = (h + this.total) >>> 0;
    let i = 0;
    for (; i + 4 <= this.pendingLength; i += 4) {
      h =
        Math.imul(rotl((h + Math.imul(this.pending.readUInt32LE(i), PRIME3)) >>> 0, 17), PRIME4) >>>
        0;
    }
    for (; i < this.pendingLength; i++) {
      h = Math.imul(rotl((h + Math.imul(this.pending[i], PRIME5)) >>> 0, 11), PRIME1) >>> 0;
    }
    h = Math.imul(h ^ (h >>> 15), PRIME2) >>> 0;
    h = Math.imul(h ^ (h >>> 13), PRIME3) >>> 0;
    return (h ^ (h >>> 16)) >>> 0;
  }
}

export function xxh32(data: Uint8Array, seed = 0): number {
  return new Xxh32(seed).update(data).digest();
}
