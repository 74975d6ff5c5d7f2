// MIDAS files: streaming reader, writer, ODB dumps. Usable without the server.
export {
  bankArray,
  parseBanks,
  walkBanks,
  type Bank,
  type BankArray,
  type BankHeader,
} from './banks';
export { decompress, decompressRange, detectCompression, type Compression } from './decompress';
export { CompressionError, MidasFormatError } from './errors';
export { BANK_FORMAT, BOR_ID, EOR_ID, MESSAGE_ID, TID, type BankFormat } from './format';
export { decodeLz4Block, Lz4FrameDecoder } from './lz4';
export { odbGet, parseOdbDump, parseOdbXml, type OdbTree, type OdbValue } from './odb';
export {
  eventText,
  indexMidasEvents,
  readMidasEvents,
  readMidasFile,
  type EventKind,
  type IndexedEvent,
  type MidasEvent,
  type MidasEventHeader,
  type ReadOptions,
} from './reader';
export {
  encodeDataEvent,
  encodeMessageEvent,
  encodeOdbEvent,
  type BankInput,
  type EventInput,
} from './writer';
export { Xxh32, xxh32 } from './xxhash32';
