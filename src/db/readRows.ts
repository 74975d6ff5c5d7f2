import type { EntityMetadata, ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { databaseDate } from './databaseDate';

type Convert = (value: unknown) => unknown;
type RowMapper = (raw: Record<string, unknown>) => ObjectLiteral;

const identity: Convert = (value) => value;

const toDate: Convert = (value) => (value == null ? null : databaseDate(value as Date | string));

const CONVERSIONS: Record<string, Convert> = {
  datetime: toDate,
  boolean: (value) => (value == null ? null : Boolean(Number(value))),
  'simple-json': (value) =>
    value == null ? null : typeof value === 'string' ? JSON.parse(value) : value,
  'simple-array': (value) => (value ? String(value).split(',') : []),
};

const mappers = new WeakMap<EntityMetadata, Map<string, RowMapper>>();

function mapperFor(metadata: EntityMetadata, alias: string, only?: readonly string[]): RowMapper {
  let byKey = mappers.get(metadata);
  if (!byKey) mappers.set(metadata, (byKey = new Map()));
  const key = `${alias}|${only?.join(',') ?? '*'}`;
  let mapper = byKey.get(key);
  if (mapper) return mapper;
  const selected = only
    ? metadata.columns.filter((column) => only.includes(column.propertyName))
    : metadata.columns;
  const columns = selected.map((column) => {
    const convert = CONVERSIONS[String(column.type)] ?? identity;
    const transformer =
      column.transformer && !Array.isArray(column.transformer) ? column.transformer : undefined;
    return {
      key: `${alias}_${column.databaseName}`,
      property: column.propertyName,
      read: transformer ? (value: unknown) => transformer.from(value) : convert,
    };
  });
  mapper = (raw) => {
    const entity: ObjectLiteral = {};
    for (const column of columns) entity[column.property] = column.read(raw[column.key]);
    return entity;
  };
  byKey.set(key, mapper);
  return mapper;
}

/**
 * Runs a select and returns its rows as plain entity-shaped objects, skipping TypeORM's general
 * hydration (relation joins, listeners, subscribers), which cost more than the SQL itself on the
 * API's hot paths (one page of runs with its files and flags). With `columns`, only those are
 * read (see Projection). Same values as `getMany()` for the column types the entities use;
 * test/integration/readRows.test.ts holds them to that.
 */
export async function readRows<T extends ObjectLiteral>(
  query: SelectQueryBuilder<T>,
  columns?: readonly string[],
): Promise<T[]> {
  const metadata = query.expressionMap.mainAlias!.metadata;
  if (columns) query.select(columns.map((column) => `${query.alias}.${column}`));
  const mapper = mapperFor(metadata, query.alias, columns);
  const raw: Record<string, unknown>[] = await query.getRawMany();
  return raw.map(mapper) as T[];
}
