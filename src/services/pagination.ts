import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { readRows } from '../db/readRows';
import { BadUserInputError } from '../errors';

/** A page as services return it; resolvers hand it to the GraphQL connection types unchanged. */
export interface Page<T> {
  edges: Array<{ cursor: string; node: T }>;
  nodes: T[];
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  totalCount: number | null;
}

/** What a list call reads: whether to count, and which columns (all when unset). */
export interface ListOptions {
  withTotal: boolean;
  columns?: readonly string[];
}

export interface PageArgs {
  first?: number | null;
  after?: string | null;
}

export interface SortKey<T> {
  /** Column expression on the query's alias, e.g. "run.runNumber". */
  column: string;
  direction: 'ASC' | 'DESC';
  /** Columns `valueOf` reads (always selected). */
  columns: readonly string[];
  /** Reads the sort value from a row (dates as ISO strings so they survive the cursor). */
  valueOf: (row: T) => string | number | null;
  /** Turns a cursor value back into a query parameter. */
  parse?: (value: string | number) => unknown;
}

/** Rows in id order on the query's `alias`: insertion order, or newest first (`DESC`). */
export function byId<T extends { id: number }>(
  alias: string,
  direction: 'ASC' | 'DESC',
): SortKey<T> {
  return { column: `${alias}.id`, columns: ['id'], direction, valueOf: (row) => row.id };
}

const DEFAULT_PAGE_SIZE = 50;

/** Cursors are opaque to clients: base64url of [sort value, id]. */
export function encodeCursor(value: string | number | null, id: number | string): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

export function decodeCursor(cursor: string): [string | number | null, number | string] {
  try {
    const decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(decoded) &&
      decoded.length === 2 &&
      ['string', 'number'].includes(typeof decoded[1]) &&
      (decoded[0] === null || ['string', 'number'].includes(typeof decoded[0]))
    ) {
      return decoded as [string | number | null, number | string];
    }
  } catch {
    // fall through to the error below
  }
  throw new BadUserInputError('after: not a cursor returned by this API', 'after');
}

export function pageSize(first: number | null | undefined, max: number): number {
  if (first === undefined || first === null) return Math.min(DEFAULT_PAGE_SIZE, max);
  if (!Number.isInteger(first) || first < 0 || first > max) {
    throw new BadUserInputError(`first: must be between 0 and ${max}, got ${first}`, 'first');
  }
  return first;
}

/**
 * Keyset pagination on (sort key, id): stable under inserts, no OFFSET scans. Fetches one row
 * more than asked to know whether another page follows; counts only when the client asked.
 */
export async function paginate<T extends ObjectLiteral & { id: number | string }>(
  query: SelectQueryBuilder<T>,
  sort: SortKey<T>,
  args: PageArgs,
  options: { maxPageSize: number; withTotal: boolean; columns?: readonly string[] },
): Promise<Page<T>> {
  const limit = pageSize(args.first, options.maxPageSize);
  const alias = query.alias;
  const total = options.withTotal ? await query.clone().getCount() : null;

  if (args.after) {
    const [value, id] = decodeCursor(args.after);
    const op = sort.direction === 'ASC' ? '>' : '<';
    const sortValue = value === null || !sort.parse ? value : sort.parse(value);
    if (sortValue === null) {
      query.andWhere(`(${sort.column} IS NULL AND ${alias}.id ${op} :cursorId)`, { cursorId: id });
    } else {
      query.andWhere(
        `(${sort.column} ${op} :cursorValue OR (${sort.column} = :cursorValue AND ${alias}.id ${op} :cursorId))`,
        {
          cursorValue: sortValue,
          cursorId: id,
        },
      );
    }
  }
  const rows =
    limit === 0
      ? []
      : await readRows(
          query
            .orderBy(sort.column, sort.direction)
            .addOrderBy(`${alias}.id`, sort.direction)
            .limit(limit + 1),
          options.columns && [...new Set(['id', ...sort.columns, ...options.columns])],
        );

  const hasNextPage = rows.length > limit;
  const nodes = hasNextPage ? rows.slice(0, limit) : rows;
  const cursorOf = (node: T) => encodeCursor(sort.valueOf(node), node.id);
  let edges: Page<T>['edges'] | undefined;
  return {
    // Edges and their cursors are built only when asked for: Grafana and notebooks read `nodes`.
    get edges() {
      return (edges ??= nodes.map((node) => ({ cursor: cursorOf(node), node })));
    },
    nodes,
    pageInfo: {
      hasNextPage,
      hasPreviousPage: Boolean(args.after),
      startCursor: nodes.length > 0 ? cursorOf(nodes[0]) : null,
      endCursor: nodes.length > 0 ? cursorOf(nodes[nodes.length - 1]) : null,
    },
    totalCount: total,
  };
}
