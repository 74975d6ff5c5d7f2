export type NumericType = 'int32' | 'int64' | 'float64';

/** The numeric columns of a record batch being built. */
export interface NumericColumns {
  /** Per column: its values (an int64 column as 32-bit halves, low first). */
  values: Array<Int32Array | Float64Array>;
  /** Per column: the Arrow validity bitmap, created at the first null. */
  nulls: Array<Uint8Array | undefined>;
  nullCounts: number[];
}

/** Writes rows into the columns from row `offset` on (the columns must have room). */
export type NumericFiller = (
  rows: readonly unknown[][],
  columns: NumericColumns,
  offset: number,
) => void;

/** Empty columns with room for `capacity` rows. */
export function numericColumns(types: readonly NumericType[], capacity: number): NumericColumns {
  return {
    values: types.map((type) =>
      type === 'float64'
        ? new Float64Array(capacity)
        : new Int32Array(type === 'int64' ? 2 * capacity : capacity),
    ),
    nulls: types.map(() => undefined),
    nullCounts: types.map(() => 0),
  };
}

/**
 * A function that writes a slice of database rows into the typed arrays of the numeric columns
 * at `positions`, in one pass over the rows. Generated for the column set (as the database
 * drivers generate their row parsers): a loop per column over arrays of rows reads memory out of
 * order and costs several times more per value, after the driver's own the largest part of an
 * export. Rows are taken a slice at a time so that they die young, before the garbage
 * collector would have to move them.
 */
export function numericFiller(
  types: readonly NumericType[],
  positions: readonly number[],
): NumericFiller {
  const load: string[] = [];
  const fill: string[] = [];
  types.forEach((type, k) => {
    const at = positions[k];
    if (!Number.isInteger(at) || at < 0) throw new Error(`bad column position ${at}`);
    load.push(`const v${k} = columns.values[${k}];`);
    const store =
      type === 'int64'
        ? `{ x = +x; v${k}[2 * j] = x >>> 0; v${k}[2 * j + 1] = Math.floor(x / 4294967296); }`
        : `v${k}[j] = x;`;
    fill.push(
      `x = r[${at}]; if (x == null) { let m = columns.nulls[${k}]; if (m === undefined) m = columns.nulls[${k}] = new Uint8Array((v${k}.length + 7) >> 3).fill(255); m[j >> 3] &= ~(1 << (j & 7)); columns.nullCounts[${k}]++; } else ${store}`,
    );
  });
  const body = `
    ${load.join('\n')}
    const n = rows.length;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      const j = offset + i;
      let x;
      ${fill.join('\n')}
    }`;
  return new Function('rows', 'columns', 'offset', body) as NumericFiller;
}
