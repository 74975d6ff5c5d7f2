import {
  AsyncByteQueue,
  Bool,
  Field,
  Float64,
  Int32,
  Int64,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  makeData,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { ExportColumn, ExportType } from './columns';
import {
  numericColumns,
  numericFiller,
  type NumericColumns,
  type NumericFiller,
  type NumericType,
} from './numericColumns';
import type { RowEncoder } from './rowEncoder';

const TWO_32 = 2 ** 32;

/** Keeps what the Arrow writer writes, to hand on synchronously (its own queue is async). */
class CapturedBytes extends AsyncByteQueue {
  private chunks: Buffer[] = [];

  override write(value: ArrayBufferView | ArrayBuffer | string): void {
    if (typeof value === 'string') value = Buffer.from(value);
    const view = ArrayBuffer.isView(value) ? value : new Uint8Array(value);
    if (view.byteLength > 0)
      this.chunks.push(Buffer.from(view.buffer, view.byteOffset, view.byteLength));
  }

  take(): Buffer[] {
    const taken = this.chunks;
    this.chunks = [];
    return taken;
  }
}

function arrowType(type: ExportType): DataType {
  switch (type) {
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'utf8':
      return new Utf8();
    case 'timestamp':
      return new TimestampMillisecond('UTC');
  }
}

/** The Arrow schema of an export: field metadata carries each column's description. */
export function exportSchema(columns: readonly ExportColumn[]): Schema {
  return new Schema(
    columns.map(
      (c) =>
        new Field(c.name, arrowType(c.type), c.nullable, new Map([['description', c.description]])),
    ),
  );
}

/** Milliseconds since the epoch of a database datetime (a Date from mysql2, UTC text from SQLite). */
function epochMillis(value: unknown): number {
  if (value instanceof Date) return value.getTime();
  return Date.parse(`${String(value).replace(' ', 'T')}Z`);
}

function isNumeric(type: ExportType): boolean {
  return type === 'int32' || type === 'int64' || type === 'float64';
}

/**
 * A column's values as Arrow data, for the columns numericFiller does not fill: times, booleans
 * and text. Nulls get a validity bitmap (and zeros in the values); times (milliseconds, int64)
 * are written as two 32-bit halves, exact for every integer a JS number holds, without a BigInt
 * per value.
 */
function columnData(column: ExportColumn, values: readonly unknown[]): Data {
  const length = values.length;
  const type = arrowType(column.type);
  let nullBitmap: Uint8Array | undefined;
  let nullCount = 0;
  const isNull = (i: number, value: unknown): boolean => {
    if (value != null) return false;
    nullBitmap ??= new Uint8Array((length + 7) >> 3).fill(0xff);
    nullBitmap[i >> 3] &= ~(1 << (i & 7));
    nullCount++;
    return true;
  };
  switch (column.type) {
    case 'timestamp': {
      const halves = new Int32Array(length * 2);
      for (let i = 0; i < length; i++) {
        const v = values[i];
        if (isNull(i, v)) continue;
        const n = epochMillis(v);
        halves[2 * i] = n >>> 0;
        halves[2 * i + 1] = Math.floor(n / TWO_32);
      }
      const data = new BigInt64Array(halves.buffer);
      return makeData({ type, length, nullCount, nullBitmap, data } as never);
    }
    case 'bool': {
      const bits = new Uint8Array((length + 7) >> 3);
      for (let i = 0; i < length; i++) {
        const v = values[i];
        if (!isNull(i, v) && Number(v)) bits[i >> 3] |= 1 << (i & 7);
      }
      return makeData({ type, length, nullCount, nullBitmap, data: bits } as never);
    }
    case 'utf8': {
      const valueOffsets = new Int32Array(length + 1);
      const parts: Buffer[] = [];
      let at = 0;
      for (let i = 0; i < length; i++) {
        const v = values[i];
        if (!isNull(i, v)) {
          const bytes = Buffer.from(String(v), 'utf8');
          parts.push(bytes);
          at += bytes.length;
        }
        valueOffsets[i + 1] = at;
      }
      const data = new Uint8Array(Buffer.concat(parts, at));
      return makeData({ type, length, nullCount, nullBitmap, valueOffsets, data } as never);
    }
    default:
      throw new Error(`column ${column.name}: ${column.type} goes through numericFiller`);
  }
}

/**
 * Rows (arrays, column i at positions[i]) to an Arrow IPC stream: the schema first, one record
 * batch per `flush` of the rows added since, the end-of-stream marker at `end`. What
 * `pyarrow.ipc.open_stream` reads.
 */
export class ArrowStreamEncoder implements RowEncoder {
  readonly contentType = 'application/vnd.apache.arrow.stream';
  private readonly schema: Schema;
  private readonly sink = new CapturedBytes();
  private readonly writer = new RecordBatchStreamWriter();
  private readonly numericTypes: NumericType[];
  private readonly fill: NumericFiller;
  /** Column i's place among the numeric columns, or -1. */
  private readonly numericIndex: number[];
  // The batch being built: numeric columns in typed arrays, the others as values.
  private numeric: NumericColumns;
  private others: unknown[][];
  private capacity: number;
  private count = 0;

  /** `positions[i]`: where column i is in a row (all in order when absent). */
  constructor(
    private readonly columns: readonly ExportColumn[],
    private readonly positions: readonly number[] = columns.map((_, i) => i),
    private readonly batchCapacity = 16_384,
  ) {
    this.schema = exportSchema(columns);
    this.writer.reset(this.sink, this.schema);
    const numeric = columns.flatMap((c, i) => (isNumeric(c.type) ? [i] : []));
    this.numericTypes = numeric.map((i) => columns[i].type as NumericType);
    this.fill = numericFiller(
      this.numericTypes,
      numeric.map((i) => positions[i]),
    );
    this.numericIndex = columns.map((_, i) => numeric.indexOf(i));
    this.capacity = batchCapacity;
    this.numeric = numericColumns(this.numericTypes, this.capacity);
    this.others = columns.map(() => []);
  }

  start(): Buffer[] {
    // An empty batch makes the writer emit the schema: an export matching nothing is still a
    // valid stream a reader opens and finds the columns in.
    return this.flush();
  }

  add(rows: readonly unknown[][]): void {
    if (this.count + rows.length > this.capacity) this.grow(this.count + rows.length);
    this.fill(rows, this.numeric, this.count);
    this.columns.forEach((_, i) => {
      if (this.numericIndex[i] >= 0) return;
      const at = this.positions[i];
      const values = this.others[i];
      for (const row of rows) values.push(row[at]);
    });
    this.count += rows.length;
  }

  flush(): Buffer[] {
    const length = this.count;
    const children = this.columns.map((column, i) => {
      const k = this.numericIndex[i];
      if (k < 0) return columnData(column, this.others[i]);
      const values = this.numeric.values[k];
      const data =
        column.type === 'int64'
          ? new BigInt64Array(values.buffer, 0, length)
          : values.subarray(0, length);
      return makeData({
        type: arrowType(column.type),
        length,
        nullCount: this.numeric.nullCounts[k],
        nullBitmap: this.numeric.nulls[k]?.subarray(0, (length + 7) >> 3),
        data,
      } as never);
    });
    const struct = makeData({
      type: new Struct(this.schema.fields),
      length,
      nullCount: 0,
      children,
    });
    this.writer.write(new RecordBatch(this.schema, struct));
    // The written buffers are views on these arrays until sent: the next batch gets new ones.
    this.capacity = this.batchCapacity;
    this.numeric = numericColumns(this.numericTypes, this.capacity);
    this.others = this.columns.map(() => []);
    this.count = 0;
    return this.sink.take();
  }

  end(): Buffer[] {
    this.writer.finish();
    return this.sink.take();
  }

  /** More room than the batch capacity (a caller adding more rows than it said). */
  private grow(needed: number): void {
    const capacity = Math.max(needed, 2 * this.capacity);
    const bigger = numericColumns(this.numericTypes, capacity);
    this.numeric.values.forEach((values, k) => (bigger.values[k] as typeof values).set(values));
    this.numeric.nulls.forEach((nulls, k) => {
      if (!nulls) return;
      const grown = new Uint8Array((bigger.values[k].length + 7) >> 3).fill(255);
      grown.set(nulls);
      bigger.nulls[k] = grown;
    });
    bigger.nullCounts = this.numeric.nullCounts;
    this.numeric = bigger;
    this.capacity = capacity;
  }
}
