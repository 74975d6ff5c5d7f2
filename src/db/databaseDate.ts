/**
 * A datetime as a driver hands it back: SQLite gives the stored text ('YYYY-MM-DD HH:MM:SS.SSS',
 * UTC), mysql2 (timezone Z) a Date.
 */
export function databaseDate(value: Date | string): Date {
  return value instanceof Date ? value : new Date(`${String(value).replace(' ', 'T')}Z`);
}
