import { ArrowStreamEncoder } from './arrowEncoder';
import type { ExportColumn } from './columns';
import { CsvEncoder } from './csvEncoder';
import type { RowEncoder } from './rowEncoder';

export const EXPORT_FORMATS = ['arrow', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function isExportFormat(value: string): value is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(value);
}

/** The encoder of a format, for rows whose column i sits at positions[i]. */
export function encoderFor(
  format: ExportFormat,
  columns: readonly ExportColumn[],
  positions: readonly number[],
  batchRows: number,
): RowEncoder {
  return format === 'arrow'
    ? new ArrowStreamEncoder(columns, positions, batchRows)
    : new CsvEncoder(columns, positions);
}
