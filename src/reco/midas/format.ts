// The MIDAS event format (midas.h): little-endian, 16-byte event header, bank-structured data.

export const EVENT_HEADER_SIZE = 16;
export const BOR_ID = 0x8000;
export const EOR_ID = 0x8001;
export const MESSAGE_ID = 0x8002;
/** Trigger mask of BOR/EOR events ("MI"); some DAQs store it byte-swapped. */
export const ODB_DUMP_MASK = 0x494d;
export const ODB_DUMP_MASK_SWAPPED = 0x4d49;

/** Bank-header flags. */
export const BANK_FORMAT = { BANK16: 0x01, BANK32: 0x11, BANK32A: 0x31 } as const;
export type BankFormat = keyof typeof BANK_FORMAT;

export const TID = {
  UINT8: 1,
  INT8: 2,
  CHAR: 3,
  UINT16: 4,
  INT16: 5,
  UINT32: 6,
  INT32: 7,
  BOOL: 8,
  FLOAT: 9,
  DOUBLE: 10,
  INT64: 17,
  UINT64: 18,
} as const;

/** Bytes per element of each type id; unknown types are read as bytes. */
export const TID_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 1,
  4: 2,
  5: 2,
  6: 4,
  7: 4,
  8: 4,
  9: 4,
  10: 8,
  17: 8,
  18: 8,
};

export const align8 = (n: number) => (n + 7) & ~7;
