import { getMetadataArgsStorage } from 'typeorm';

/**
 * Which columns of an entity a GraphQL selection needs: the selected fields that are columns,
 * the columns field resolvers read (a `run` field needs `runId`), and those always needed
 * (the id, the key loaders group by). Reading only those keeps wide rows off the hot paths.
 */
export class Projection {
  private readonly columns: ReadonlySet<string>;
  private readonly cache = new Map<string, readonly string[]>();
  // selectedFields() returns one Set per operation and field: most calls hit this cache.
  private readonly bySet = new WeakMap<ReadonlySet<string>, readonly string[]>();

  constructor(
    entity: object,
    private readonly always: readonly string[],
    private readonly fieldNeeds: Readonly<Record<string, readonly string[]>> = {},
  ) {
    this.columns = new Set(
      getMetadataArgsStorage()
        .columns.filter((column) => column.target === entity)
        .map((column) => column.propertyName),
    );
  }

  /** The sorted column list for the selected fields (memoised: a page asks many times). */
  for(fields: ReadonlySet<string> | undefined): readonly string[] | undefined {
    if (!fields) return undefined;
    const known = this.bySet.get(fields);
    if (known) return known;
    const key = [...fields].sort().join(',');
    let columns = this.cache.get(key);
    if (!columns) {
      const wanted = new Set(this.always);
      for (const field of fields) {
        if (this.columns.has(field)) wanted.add(field);
        for (const need of this.fieldNeeds[field] ?? []) wanted.add(need);
      }
      columns = [...wanted].sort();
      this.cache.set(key, columns);
    }
    this.bySet.set(fields, columns);
    return columns;
  }
}
