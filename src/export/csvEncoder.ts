import { databaseDate } from '../db/databaseDate';
import type { ExportColumn } from './columns';
import type { RowEncoder } from './rowEncoder';

/** A field as RFC 4180 wants it: quoted when it holds a comma, a quote or a line break. */
function quoted(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function dateText(value: unknown): string {
  return databaseDate(value as Date | string).toISOString();
}

/**
 * CSV for spreadsheets: a header line of column names, then one line per row; an empty field is
 * a null, times are ISO 8601 UTC, booleans true/false.
 */
export class CsvEncoder implements RowEncoder {
  readonly contentType = 'text/csv; charset=utf-8';
  private readonly format: Array<(value: unknown) => string>;
  private lines: string[] = [];

  /** `positions[i]`: where column i is in a row (all in order when absent). */
  constructor(
    private readonly columns: readonly ExportColumn[],
    private readonly positions: readonly number[] = columns.map((_, i) => i),
  ) {
    this.format = columns.map((column) => {
      switch (column.type) {
        case 'timestamp':
          return dateText;
        case 'bool':
          return (value) => (Number(value) ? 'true' : 'false');
        case 'utf8':
          return (value) => quoted(String(value));
        default:
          return (value) => String(value);
      }
    });
  }

  start(): Buffer[] {
    return [Buffer.from(`${this.columns.map((c) => quoted(c.name)).join(',')}\r\n`)];
  }

  add(rows: readonly unknown[][]): void {
    const { format, positions, lines } = this;
    for (const row of rows) {
      const fields = positions.map((at, i) => {
        const value = row[at];
        return value == null ? '' : format[i](value);
      });
      lines.push(fields.join(','));
    }
  }

  flush(): Buffer[] {
    if (this.lines.length === 0) return [];
    const text = `${this.lines.join('\r\n')}\r\n`;
    this.lines = [];
    return [Buffer.from(text)];
  }

  end(): Buffer[] {
    return [];
  }
}
