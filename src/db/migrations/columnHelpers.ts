import type { TableColumnOptions } from 'typeorm';

// Columns later migrations share (the initial one keeps its own, as written then).

/** An auto-increment integer primary key (SQLite wants `integer` for its rowid alias). */
export function idColumn(sqlite: boolean): TableColumnOptions {
  return {
    name: 'id',
    type: sqlite ? 'integer' : 'int',
    isPrimary: true,
    isGenerated: true,
    generationStrategy: 'increment',
  };
}

/** A millisecond creation time defaulting to now (SQLite has no CURRENT_TIMESTAMP(3)). */
export function createdAtColumn(sqlite: boolean): TableColumnOptions {
  return {
    name: 'createdAt',
    type: 'datetime',
    precision: 3,
    default: sqlite ? "(strftime('%Y-%m-%d %H:%M:%f', 'now'))" : 'CURRENT_TIMESTAMP(3)',
  };
}
