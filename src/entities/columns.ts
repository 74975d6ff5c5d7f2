import { Column, CreateDateColumn, UpdateDateColumn, type ColumnOptions } from 'typeorm';

// Column helpers that keep SQLite and MariaDB in step: millisecond datetimes (MariaDB drops
// them without precision 3), 64-bit integers returned as JS numbers, JSON stored as text.

/** 64-bit integers as JS numbers (safe up to 2^53: byte offsets, sizes, event ids). */
export const bigintAsNumber = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};

export function DateTimeColumn(options: ColumnOptions = {}) {
  return Column({ type: 'datetime', precision: 3, ...options });
}

export function CreatedAtColumn() {
  return CreateDateColumn({ type: 'datetime', precision: 3 });
}

export function UpdatedAtColumn() {
  return UpdateDateColumn({ type: 'datetime', precision: 3 });
}

export function BigIntColumn(options: ColumnOptions = {}) {
  return Column({ type: 'bigint', transformer: bigintAsNumber, ...options });
}

export function JsonColumn(options: ColumnOptions = {}) {
  return Column({ type: 'simple-json', ...options });
}

export function EnumColumn(values: object, defaultValue?: string, options: ColumnOptions = {}) {
  const length = Math.max(...Object.values(values).map((v: string) => v.length), 8);
  return Column({ type: 'varchar', length, default: defaultValue, ...options });
}

/** A JSON object column's type (`any` values: TypeORM's partial-update types reject `unknown`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JsonObject = Record<string, any>;
