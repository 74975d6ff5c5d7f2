import {
  align8,
  BANK_FORMAT,
  BOR_ID,
  type BankFormat,
  EOR_ID,
  EVENT_HEADER_SIZE,
  MESSAGE_ID,
  ODB_DUMP_MASK,
} from './format';

export interface BankInput {
  name: string;
  type: number;
  data: ArrayBufferView;
}

export interface EventInput {
  eventId: number;
  triggerMask?: number;
  serial: number;
  /** Unix time in seconds. */
  time: number;
}

function header(event: EventInput, dataSize: number): Buffer {
  const out = Buffer.alloc(EVENT_HEADER_SIZE);
  out.writeUInt16LE(event.eventId & 0xffff, 0);
  out.writeUInt16LE((event.triggerMask ?? 0) & 0xffff, 2);
  out.writeUInt32LE(event.serial >>> 0, 4);
  out.writeUInt32LE(event.time >>> 0, 8);
  out.writeUInt32LE(dataSize, 12);
  return out;
}

/** Encodes a data event with banks, as MIDAS's bk_init / bk_init32 / bk_init32a produce them. */
export function encodeDataEvent(
  event: EventInput,
  banks: BankInput[],
  format: BankFormat = 'BANK32A',
): Buffer {
  const headerSize = format === 'BANK16' ? 8 : format === 'BANK32' ? 12 : 16;
  const allBanks = banks.reduce((sum, bank) => sum + headerSize + align8(bank.data.byteLength), 0);
  const out = Buffer.alloc(EVENT_HEADER_SIZE + 8 + allBanks);
  header(event, 8 + allBanks).copy(out, 0);
  out.writeUInt32LE(allBanks, 16);
  out.writeUInt32LE(BANK_FORMAT[format], 20);
  let offset = 24;
  for (const bank of banks) {
    const size = bank.data.byteLength;
    if (format === 'BANK16' && size > 0xffff)
      throw new Error(`bank ${bank.name}: ${size} bytes do not fit a 16-bit bank`);
    out.write(bank.name.padEnd(4, '\0').slice(0, 4), offset, 'latin1');
    if (format === 'BANK16') {
      out.writeUInt16LE(bank.type, offset + 4);
      out.writeUInt16LE(size, offset + 6);
    } else {
      out.writeUInt32LE(bank.type, offset + 4);
      out.writeUInt32LE(size, offset + 8);
    }
    Buffer.from(bank.data.buffer, bank.data.byteOffset, size).copy(out, offset + headerSize);
    offset += headerSize + align8(size);
  }
  return out;
}

/** Encodes a BOR or EOR event carrying an ODB dump (serial = run number, as mlogger writes). */
export function encodeOdbEvent(
  kind: 'BOR' | 'EOR',
  runNumber: number,
  time: number,
  odb: string,
): Buffer {
  const text = Buffer.from(`${odb}\0`, 'latin1');
  return Buffer.concat([
    header(
      {
        eventId: kind === 'BOR' ? BOR_ID : EOR_ID,
        triggerMask: ODB_DUMP_MASK,
        serial: runNumber,
        time,
      },
      text.length,
    ),
    text,
  ]);
}

export function encodeMessageEvent(serial: number, time: number, message: string): Buffer {
  const text = Buffer.from(`${message}\0`, 'latin1');
  return Buffer.concat([header({ eventId: MESSAGE_ID, serial, time }, text.length), text]);
}
