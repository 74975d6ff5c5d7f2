// Tape: the custodial copy behind a file or WebDAV door.
export { createTapeStore } from './createTapeStore';
export { FileTapeStore } from './FileTapeStore';
export { TapeAuthError, type TapeObject, type TapeStore } from './TapeStore';
export { TokenFile } from './tokenFile';
export { adler32FromDigest, WebDavTapeStore } from './WebDavTapeStore';
