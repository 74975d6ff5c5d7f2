import zlib from 'node:zlib';

/**
 * NumPy's `.npz`: a zip of `.npy` arrays (and here one JSON member), deflated. Chosen for reduced
 * files because a physicist opens it with numpy alone — `np.load(path)` — where an Arrow file
 * needs pyarrow, which Debian 12 does not even package. Written deterministically (fixed member
 * order and timestamps), so that the same input gives the same bytes and md5.
 */

export type NpyArray =
  Int16Array | Int32Array | Uint32Array | Float64Array | Float32Array | BigInt64Array | Uint8Array;

const DTYPES = new Map<string, string>([
  ['Int16Array', '<i2'],
  ['Int32Array', '<i4'],
  ['Uint32Array', '<u4'],
  ['Float64Array', '<f8'],
  ['Float32Array', '<f4'],
  ['BigInt64Array', '<i8'],
  ['Uint8Array', '|u1'],
]);

function dtypeOf(array: NpyArray | (new (length: number) => NpyArray), bool: boolean): string {
  const name = typeof array === 'function' ? array.name : array.constructor.name;
  const descr = bool ? '|b1' : DTYPES.get(name);
  if (!descr) throw new Error(`no numpy dtype for ${name}`);
  return descr;
}

/** The header of a one-dimensional `.npy` (format 1.0). */
function npyHeader(descr: string, length: number): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${length},), }`;
  // Magic (6) + version (2) + length (2) + header + '\n', padded to a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const head = Buffer.alloc(10 + header.length);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  head.write(header, 10, 'latin1');
  return head;
}

const bytesOf = (array: NpyArray) => Buffer.from(array.buffer, array.byteOffset, array.byteLength);

/** One `.npy` of a one-dimensional array; `bool` stores bytes as numpy booleans. */
export function encodeNpy(array: NpyArray, bool = false): Buffer[] {
  return [npyHeader(dtypeOf(array, bool), array.length), bytesOf(array)];
}

/**
 * A one-dimensional array written piece by piece, each piece deflated as it comes (and then
 * dropped): a run's pixels never sit in memory uncompressed. Pieces are independent deflate
 * segments ended by a sync flush, so they join into one valid stream.
 */
export class StreamedArray {
  readonly segments: Buffer[] = [];
  crc = 0;
  bytes = 0;
  length = 0;

  constructor(readonly Type: new (length: number) => NpyArray) {}

  append(array: NpyArray): void {
    if (array.length === 0) return;
    const bytes = bytesOf(array);
    this.crc = zlib.crc32(bytes, this.crc);
    this.bytes += bytes.length;
    this.length += array.length;
    this.segments.push(zlib.deflateRawSync(bytes, { level: 6, finishFlush: SYNC }));
  }
}

const SYNC = zlib.constants.Z_SYNC_FLUSH;

/** zlib's crc32_combine: the CRC of A+B from those of A and B and B's length. */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const times = (matrix: Uint32Array, vector: number) => {
    let sum = 0;
    for (let i = 0; vector !== 0; i++, vector >>>= 1) if (vector & 1) sum ^= matrix[i];
    return sum >>> 0;
  };
  const square = (target: Uint32Array, matrix: Uint32Array) => {
    for (let n = 0; n < 32; n++) target[n] = times(matrix, matrix[n]);
  };
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = 0xedb88320; // the CRC-32 polynomial: the operator for one zero bit
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row >>> 0;
  square(even, odd); // two zero bits
  square(odd, even); // four
  let crc = crcA >>> 0;
  let length = lengthB;
  do {
    square(even, odd); // applies len2's next bit: one more byte's worth of zeros, doubled
    if (length % 2 === 1) crc = times(even, crc);
    length = Math.floor(length / 2);
    if (length === 0) break;
    square(odd, even);
    if (length % 2 === 1) crc = times(odd, crc);
    length = Math.floor(length / 2);
  } while (length !== 0);
  return (crc ^ crcB) >>> 0;
}

interface Member {
  /** Its local header: the central directory repeats bytes 4–29 of it. */
  local: Buffer;
  name: Buffer;
  offset: number;
}

// 2026-01-01 00:00 in DOS format: a fixed stamp keeps the bytes reproducible.
const DOS_TIME = 0;
const DOS_DATE = ((2026 - 1980) << 9) | (1 << 5) | 1;
const ZIP32_LIMIT = 0xffffffff;

/** Builds a zip of deflated members, in the order added. */
export class NpzWriter {
  private readonly members: Member[] = [];
  private offset = 0;
  private readonly parts: Buffer[] = [];

  addArray(name: string, array: NpyArray, bool = false): void {
    this.add(`${name}.npy`, encodeNpy(array, bool));
  }

  /** A streamed array: its header, then its pre-deflated segments, then the final block. */
  addStreamed(name: string, array: StreamedArray): void {
    const header = npyHeader(dtypeOf(array.Type, false), array.length);
    const data = Buffer.concat([
      zlib.deflateRawSync(header, { level: 6, finishFlush: SYNC }),
      ...array.segments,
      zlib.deflateRawSync(Buffer.alloc(0)),
    ]);
    const crc = crc32Combine(zlib.crc32(header), array.crc, array.bytes);
    this.addDeflated(`${name}.npy`, crc, header.length + array.bytes, data);
  }

  addJson(name: string, value: unknown): void {
    this.add(name, [Buffer.from(JSON.stringify(value, null, 1))]);
  }

  /** The whole file. */
  finish(): Buffer[] {
    const central: Buffer[] = [];
    for (const { local, name, offset } of this.members) {
      const entry = Buffer.alloc(46);
      entry.writeUInt32LE(0x02014b50, 0);
      entry.writeUInt16LE(20, 4); // made by: version 2.0
      // Version needed, flags, method, time, date, CRC, sizes, name length: as in the local header.
      local.copy(entry, 6, 4, 30);
      entry.writeUInt32LE(offset, 42);
      central.push(entry, name);
    }
    const centralSize = central.reduce((sum, b) => sum + b.length, 0);
    if (this.offset + centralSize > ZIP32_LIMIT)
      throw new Error('reduced file over 4 GB: not supported');
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.members.length, 8);
    end.writeUInt16LE(this.members.length, 10);
    end.writeUInt32LE(centralSize, 12);
    end.writeUInt32LE(this.offset, 16);
    return [...this.parts, ...central, end];
  }

  private add(name: string, pieces: Buffer[]): void {
    const size = pieces.reduce((sum, b) => sum + b.length, 0);
    let crc = 0;
    for (const piece of pieces) crc = zlib.crc32(piece, crc);
    const joined = pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, size);
    this.addDeflated(name, crc, size, zlib.deflateRawSync(joined, { level: 6 }));
  }

  private addDeflated(name: string, crc: number, size: number, data: Buffer): void {
    if (size > ZIP32_LIMIT || data.length > ZIP32_LIMIT)
      throw new Error(`${name}: over 4 GB, not supported`);
    const nameBytes = Buffer.from(name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    this.members.push({ local, name: nameBytes, offset: this.offset });
    this.parts.push(local, nameBytes, data);
    this.offset += local.length + nameBytes.length + data.length;
  }
}

/** A parsed `.npy`: its dtype string and its (one-dimensional) values. */
export interface NpyValues {
  descr: string;
  values: NpyArray;
}

const READERS: Record<string, (buffer: ArrayBuffer, offset: number, length: number) => NpyArray> = {
  '<i2': (b, o, n) => new Int16Array(b, o, n),
  '<i4': (b, o, n) => new Int32Array(b, o, n),
  '<u4': (b, o, n) => new Uint32Array(b, o, n),
  '<f8': (b, o, n) => new Float64Array(b, o, n),
  '<f4': (b, o, n) => new Float32Array(b, o, n),
  '<i8': (b, o, n) => new BigInt64Array(b, o, n),
  '|u1': (b, o, n) => new Uint8Array(b, o, n),
  '|b1': (b, o, n) => new Uint8Array(b, o, n),
};

export function decodeNpy(bytes: Buffer): NpyValues {
  if (bytes.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error('not a .npy member');
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const shape = /'shape':\s*\((\d*),?\)/.exec(header)?.[1];
  if (!descr || shape === undefined || /'fortran_order':\s*True/.test(header))
    throw new Error(`unsupported .npy header: ${header.trim()}`);
  const read = READERS[descr];
  if (!read) throw new Error(`unsupported dtype ${descr}`);
  const length = shape === '' ? 1 : Number(shape);
  // Copied to an aligned buffer of its own: typed arrays need aligned offsets.
  const data = bytes.subarray(start + headerLength);
  const own = new ArrayBuffer(data.length);
  new Uint8Array(own).set(data);
  return { descr, values: read(own, 0, length) };
}

/** The members of a zip (deflated or stored), by name. */
export function readZip(file: Buffer): Map<string, Buffer> {
  let end = -1;
  for (let i = file.length - 22; i >= Math.max(0, file.length - 22 - 65535); i--)
    if (file.readUInt32LE(i) === 0x06054b50) {
      end = i;
      break;
    }
  if (end < 0) throw new Error('not a zip file (no end of central directory)');
  const count = file.readUInt16LE(end + 10);
  let at = file.readUInt32LE(end + 16);
  const members = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (file.readUInt32LE(at) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = file.readUInt16LE(at + 10);
    const crc = file.readUInt32LE(at + 16);
    const compressed = file.readUInt32LE(at + 20);
    const nameLength = file.readUInt16LE(at + 28);
    const extraLength = file.readUInt16LE(at + 30);
    const commentLength = file.readUInt16LE(at + 32);
    const local = file.readUInt32LE(at + 42);
    const name = file.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    const dataStart = local + 30 + file.readUInt16LE(local + 26) + file.readUInt16LE(local + 28);
    const raw = file.subarray(dataStart, dataStart + compressed);
    const data = method === 8 ? zlib.inflateRawSync(raw) : method === 0 ? raw : undefined;
    if (!data) throw new Error(`${name}: unsupported zip compression ${method}`);
    if (zlib.crc32(data) !== crc) throw new Error(`${name}: CRC mismatch (corrupt file)`);
    members.set(name, data);
  }
  return members;
}
