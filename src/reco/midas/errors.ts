/** Malformed or truncated MIDAS data: says where (byte offset, event number) and what. */
export class MidasFormatError extends Error {
  constructor(
    message: string,
    readonly byteOffset: number,
    readonly eventIndex?: number,
  ) {
    const where =
      eventIndex === undefined
        ? `at byte ${byteOffset}`
        : `event #${eventIndex} at byte ${byteOffset}`;
    super(`${where}: ${message}`);
    this.name = 'MidasFormatError';
  }
}

/** A corrupt or truncated compressed stream (gzip, lz4). */
export class CompressionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CompressionError';
  }
}
