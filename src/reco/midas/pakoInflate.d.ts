// pako's zlib port, used below its public API: the seek index needs inflate's Z_BLOCK stops,
// its data_type bits and its bit accumulator, as zlib's own zran example uses them.
declare module 'pako/lib/zlib/zstream.js' {
  class ZStream {
    input: Uint8Array | null;
    next_in: number;
    avail_in: number;
    output: Uint8Array | null;
    next_out: number;
    avail_out: number;
    msg: string;
    data_type: number;
    state: { hold: number; bits: number } | null;
  }
  export = ZStream;
}

declare module 'pako/lib/zlib/inflate.js' {
  import type ZStream from 'pako/lib/zlib/zstream.js';
  export function inflateInit2(strm: ZStream, windowBits: number): number;
  export function inflate(strm: ZStream, flush: number): number;
  export function inflateSetDictionary(strm: ZStream, dictionary: Uint8Array): number;
  export function inflateEnd(strm: ZStream): number;
}
