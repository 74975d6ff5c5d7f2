import { MidasFormatError } from './errors';
import { align8, BANK_FORMAT, type BankFormat, TID, TID_SIZE } from './format';

export type BankArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** One bank of an event; `bytes` is a view into the event's buffer (no copy). */
export interface Bank {
  /** The 4-character name, with NUL bytes removed ("CAM0"). */
  name: string;
  type: number;
  /** Byte offset of the bank data within the event data. */
  offset: number;
  bytes: Uint8Array;
}

export interface BankList {
  format: BankFormat;
  banks: Bank[];
}

const FORMAT_BY_FLAGS = new Map<number, BankFormat>(
  Object.entries(BANK_FORMAT).map(([name, flags]) => [flags, name as BankFormat]),
);

/** Where one bank lies within its event's data, without the data. */
export interface BankHeader {
  name: string;
  type: number;
  /** Byte offset of the bank data within the event data. */
  offset: number;
  size: number;
}

/**
 * Walks the bank headers of a data event of `dataSize` bytes (the event without its 16-byte
 * header); `read(offset, n)` gives n bytes of the data from offset, so the data need not be in
 * one buffer (the index reader walks events it never assembles). Throws MidasFormatError, with
 * the absolute offset, when the structure does not add up.
 */
export function walkBanks(
  dataSize: number,
  read: (offset: number, n: number) => Uint8Array,
  eventOffset: number,
  eventIndex: number,
): { format: BankFormat; headers: BankHeader[] } {
  const at = (offset: number) => eventOffset + 16 + offset;
  const viewOf = (offset: number, n: number) => {
    const bytes = read(offset, n);
    return new DataView(bytes.buffer, bytes.byteOffset, n);
  };
  if (dataSize < 8) {
    throw new MidasFormatError(
      `data of ${dataSize} bytes is too short for a bank header (8 bytes)`,
      at(0),
      eventIndex,
    );
  }
  const top = viewOf(0, 8);
  const allBanksSize = top.getUint32(0, true);
  const flags = top.getUint32(4, true);
  const format = FORMAT_BY_FLAGS.get(flags);
  if (!format) {
    throw new MidasFormatError(
      `bank header flags 0x${flags.toString(16)}, expected 0x01, 0x11 or 0x31 (not MIDAS data?)`,
      at(4),
      eventIndex,
    );
  }
  if (allBanksSize !== dataSize - 8) {
    throw new MidasFormatError(
      `bank header says ${allBanksSize} bytes of banks, the event holds ${dataSize - 8}`,
      at(0),
      eventIndex,
    );
  }
  const headerSize = format === 'BANK16' ? 8 : format === 'BANK32' ? 12 : 16;
  const headers: BankHeader[] = [];
  let offset = 8;
  const end = 8 + allBanksSize;
  while (offset < end) {
    if (offset + headerSize > end) {
      throw new MidasFormatError(
        `bank header needs ${headerSize} bytes, ${end - offset} left`,
        at(offset),
        eventIndex,
      );
    }
    const view = viewOf(offset, headerSize);
    const name = String.fromCharCode(
      view.getUint8(0),
      view.getUint8(1),
      view.getUint8(2),
      view.getUint8(3),
    ).replace(/\0/g, '');
    const type = format === 'BANK16' ? view.getUint16(4, true) : view.getUint32(4, true);
    const size = format === 'BANK16' ? view.getUint16(6, true) : view.getUint32(8, true);
    const start = offset + headerSize;
    if (start + size > end) {
      throw new MidasFormatError(
        `bank "${name}" declares ${size} bytes, ${end - start} left in the event`,
        at(offset),
        eventIndex,
      );
    }
    headers.push({ name, type, offset: start, size });
    offset = start + align8(size);
  }
  return { format, headers };
}

/**
 * The banks of a data event (`data` is the event without its 16-byte header), each a view into
 * `data`. Throws MidasFormatError, with the absolute offset, when the structure does not add up.
 */
export function parseBanks(data: Uint8Array, eventOffset: number, eventIndex: number): BankList {
  const { format, headers } = walkBanks(
    data.length,
    (offset, n) => data.subarray(offset, offset + n),
    eventOffset,
    eventIndex,
  );
  const banks = headers.map(({ name, type, offset, size }) => ({
    name,
    type,
    offset,
    bytes: data.subarray(offset, offset + size),
  }));
  return { format, banks };
}

/**
 * The bank's data as a typed array of its MIDAS type, sharing memory with the event when the
 * data is aligned (it is in files MIDAS writes), copied otherwise. Little-endian hosts only,
 * like MIDAS itself.
 */
export function bankArray(bank: Bank): BankArray {
  const size = TID_SIZE[bank.type] ?? 1;
  let bytes = bank.bytes;
  if (bytes.byteOffset % size !== 0) bytes = new Uint8Array(bytes); // realign by copying
  const count = Math.floor(bytes.byteLength / size);
  const { buffer, byteOffset } = bytes;
  switch (bank.type) {
    case TID.INT8:
      return new Int8Array(buffer, byteOffset, count);
    case TID.UINT16:
      return new Uint16Array(buffer, byteOffset, count);
    case TID.INT16:
      return new Int16Array(buffer, byteOffset, count);
    case TID.UINT32:
    case TID.BOOL:
      return new Uint32Array(buffer, byteOffset, count);
    case TID.INT32:
      return new Int32Array(buffer, byteOffset, count);
    case TID.FLOAT:
      return new Float32Array(buffer, byteOffset, count);
    case TID.DOUBLE:
      return new Float64Array(buffer, byteOffset, count);
    case TID.INT64:
      return new BigInt64Array(buffer, byteOffset, count);
    case TID.UINT64:
      return new BigUint64Array(buffer, byteOffset, count);
    default:
      return new Uint8Array(buffer, byteOffset, bytes.byteLength);
  }
}
