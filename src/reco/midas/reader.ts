import fs from 'node:fs';
import { parseBanks, walkBanks, type Bank, type BankHeader } from './banks';
import { decompress } from './decompress';
import { MidasFormatError } from './errors';
import {
  BOR_ID,
  EOR_ID,
  EVENT_HEADER_SIZE,
  MESSAGE_ID,
  ODB_DUMP_MASK,
  ODB_DUMP_MASK_SWAPPED,
  type BankFormat,
} from './format';

export type EventKind = 'BOR' | 'EOR' | 'MESSAGE' | 'DATA';

/** What the 16-byte header of a MIDAS event says, and where the event lies. */
export interface MidasEventHeader {
  /** Position in the file, from 0. */
  index: number;
  /** Byte offset of the event header in the uncompressed stream. */
  offset: number;
  kind: EventKind;
  eventId: number;
  triggerMask: number;
  serial: number;
  /** Unix time in seconds. */
  time: number;
  /** Bytes after the 16-byte header. */
  dataSize: number;
}

/** One event of a MIDAS file. `data` and the banks' bytes are views into one buffer. */
export interface MidasEvent extends MidasEventHeader {
  data: Uint8Array;
  bankFormat?: BankFormat;
  banks: Bank[];
}

/**
 * One event as the index sees it: the banks' names, types and places, but not their data,
 * which is never assembled. BOR, EOR and message events keep their (small) data.
 */
export interface IndexedEvent extends MidasEventHeader {
  bankFormat?: BankFormat;
  banks: BankHeader[];
  /** The event data of BOR, EOR and message events; undefined for data events. */
  data?: Uint8Array;
}

export interface ReadOptions {
  /** Larger events are refused as corrupt (default 1 GiB; a CYGNO camera event is ~10 MB). */
  maxEventSize?: number;
  /**
   * Assemble events that span input chunks in one buffer, reused from event to event: an
   * event's data is then valid only until the next event is asked for. For readers that are
   * done with an event before taking the next (the reconstruction hands each image over to a
   * thread first): a fresh 10 MB buffer per camera event kept V8 collecting garbage for its
   * external memory about once per image.
   */
  reuseBuffer?: boolean;
}

/** A FIFO of chunks that hands out contiguous byte ranges, copying only across chunk borders. */
class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0; // consumed bytes of chunks[0]
  length = 0;
  /** Where `take` assembles events when buffers are reused (see ReadOptions.reuseBuffer). */
  private assembly: Buffer | undefined;

  constructor(private readonly reuse = false) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The next n bytes (n <= length) without consuming them. */
  peek(n: number): Buffer {
    return this.peekAt(0, n);
  }

  /**
   * n bytes from `from` bytes ahead (from + n <= length), without consuming anything; copied
   * into `into` (at least n bytes) when they span chunks, into a new buffer without it.
   */
  peekAt(from: number, n: number, into?: Buffer): Buffer {
    let i = 0;
    let start = this.head + from;
    while (start >= this.chunks[i].length) start -= this.chunks[i++].length;
    const first = this.chunks[i];
    if (first.length - start >= n) return first.subarray(start, start + n);
    const out = into ? into.subarray(0, n) : Buffer.allocUnsafe(n);
    let copied = 0;
    for (; copied < n; i++, start = 0) {
      const chunk = this.chunks[i];
      const take = Math.min(n - copied, chunk.length - start);
      chunk.copy(out, copied, start, start + take);
      copied += take;
    }
    return out;
  }

  /**
   * Consumes the next n bytes and returns them contiguous and 8-byte aligned, so that bank
   * data (8-byte aligned within its event) can be viewed as typed arrays without copying.
   */
  take(n: number): Buffer {
    const into = this.reuse ? this.assemblyOf(n) : undefined;
    let out = this.peekAt(0, n, into);
    if (out.byteOffset % 8 !== 0) {
      // Within one chunk, but not aligned: copied (new allocations are 8-byte aligned).
      if (into) out = into.subarray(0, out.copy(into));
      else out = Buffer.from(out);
    }
    this.skip(n);
    return out;
  }

  /** The reused assembly buffer, grown to n bytes (a fresh ArrayBuffer: 8-byte aligned). */
  private assemblyOf(n: number): Buffer {
    if (!this.assembly || this.assembly.length < n)
      this.assembly = Buffer.from(new ArrayBuffer(Math.max(n, 2 * (this.assembly?.length ?? 0))));
    return this.assembly;
  }

  /** Consumes the next n bytes (n <= length) without copying them anywhere. */
  skip(n: number): void {
    let left = n;
    while (left > 0) {
      const available = this.chunks[0].length - this.head;
      if (available > left) {
        this.head += left;
        left = 0;
      } else {
        left -= available;
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.length -= n;
  }
}

function kindOf(eventId: number): EventKind {
  if (eventId === BOR_ID) return 'BOR';
  if (eventId === EOR_ID) return 'EOR';
  if (eventId === MESSAGE_ID) return 'MESSAGE';
  return 'DATA';
}

/**
 * Streams the events of a MIDAS file (plain, gzip or LZ4 frame), one at a time: memory holds
 * one event and one input chunk, whatever the file size. Truncated or garbage input ends in a
 * MidasFormatError naming the byte offset and the event number.
 */
export function readMidasEvents(
  source: AsyncIterable<Buffer>,
  options: ReadOptions = {},
): AsyncGenerator<MidasEvent> {
  return scanEvents(source, options, (queue, header) => {
    const bytes = queue.take(EVENT_HEADER_SIZE + header.dataSize);
    const data = bytes.subarray(EVENT_HEADER_SIZE);
    const banks =
      header.kind === 'DATA' && header.dataSize > 0
        ? parseBanks(data, header.offset, header.index)
        : undefined;
    return { ...header, data, bankFormat: banks?.format, banks: banks?.banks ?? [] };
  });
}

/**
 * Like readMidasEvents, for the event index: the bank headers of each data event are read
 * where they lie in the input chunks and the data is skipped, never copied into one buffer
 * (a 10 MB camera event costs a few header reads instead of a 10 MB copy and its garbage).
 */
export function indexMidasEvents(
  source: AsyncIterable<Buffer>,
  options: ReadOptions = {},
): AsyncGenerator<IndexedEvent> {
  return scanEvents(source, options, (queue, header) => {
    const size = EVENT_HEADER_SIZE + header.dataSize;
    if (header.kind !== 'DATA') {
      return { ...header, data: queue.take(size).subarray(EVENT_HEADER_SIZE), banks: [] };
    }
    let banks: ReturnType<typeof walkBanks> | undefined;
    if (header.dataSize > 0) {
      const read = (offset: number, n: number) => queue.peekAt(EVENT_HEADER_SIZE + offset, n);
      banks = walkBanks(header.dataSize, read, header.offset, header.index);
    }
    queue.skip(size);
    return { ...header, bankFormat: banks?.format, banks: banks?.headers ?? [] };
  });
}

/**
 * The event loop both readers share: reads and checks each event header, makes sure the whole
 * event is buffered, and lets `consume` take the event off the queue.
 */
async function* scanEvents<T>(
  source: AsyncIterable<Buffer>,
  options: ReadOptions,
  consume: (queue: ByteQueue, header: MidasEventHeader) => T,
): AsyncGenerator<T> {
  const maxEventSize = options.maxEventSize ?? 1 << 30;
  const input = decompress(source)[Symbol.asyncIterator]();
  const queue = new ByteQueue(options.reuseBuffer);
  let ended = false;
  const fill = async (n: number): Promise<boolean> => {
    while (queue.length < n && !ended) {
      const next = await input.next();
      if (next.done) ended = true;
      else queue.push(next.value);
    }
    return queue.length >= n;
  };

  let offset = 0;
  for (let index = 0; ; index++) {
    if (!(await fill(EVENT_HEADER_SIZE))) {
      if (queue.length === 0) return;
      throw new MidasFormatError(
        `truncated event header: ${queue.length} of ${EVENT_HEADER_SIZE} bytes`,
        offset,
        index,
      );
    }
    const header = queue.peek(EVENT_HEADER_SIZE);
    const rawId = header.readUInt16LE(0);
    const triggerMask = header.readUInt16LE(2);
    const serial = header.readUInt32LE(4);
    const time = header.readUInt32LE(8);
    const dataSize = header.readUInt32LE(12);
    const kind = kindOf(rawId);
    if (
      (kind === 'BOR' || kind === 'EOR') &&
      triggerMask !== ODB_DUMP_MASK &&
      triggerMask !== ODB_DUMP_MASK_SWAPPED
    ) {
      throw new MidasFormatError(
        `${kind} event with trigger mask 0x${triggerMask.toString(16)}, expected 0x494d ("MI")`,
        offset + 2,
        index,
      );
    }
    if (dataSize > maxEventSize) {
      throw new MidasFormatError(
        `event data size ${dataSize} exceeds the limit of ${maxEventSize} bytes (corrupt or not a MIDAS file)`,
        offset + 12,
        index,
      );
    }
    if (!(await fill(EVENT_HEADER_SIZE + dataSize))) {
      throw new MidasFormatError(
        `truncated event: header declares ${dataSize} data bytes, only ${queue.length - EVENT_HEADER_SIZE} follow`,
        offset,
        index,
      );
    }
    yield consume(queue, {
      index,
      offset,
      kind,
      // MIDAS event ids are int16; BOR/EOR/message ids are reported unsigned (0x8000…).
      eventId: kind === 'DATA' ? header.readInt16LE(0) : rawId,
      triggerMask,
      serial,
      time,
      dataSize,
    });
    offset += EVENT_HEADER_SIZE + dataSize;
  }
}

/** Opens a MIDAS file (compression detected from its content) and streams its events. */
export function readMidasFile(path: string, options: ReadOptions = {}): AsyncGenerator<MidasEvent> {
  return readMidasEvents(fs.createReadStream(path, { highWaterMark: 1 << 20 }), options);
}

/** The ODB dump of a BOR/EOR event, or the text of a message event. */
export function eventText(event: { data?: Uint8Array }): string {
  if (!event.data) return '';
  return Buffer.from(event.data.buffer, event.data.byteOffset, event.data.byteLength)
    .toString('latin1')
    .replace(/\0+$/, '');
}
