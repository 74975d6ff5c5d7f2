import { tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow';
import { CLUSTER_FEATURE_NAMES, type ClusterFeatures } from './image/features';

/** The identifying columns of a cluster row, before its `sc_*` features. */
export interface ClusterKey {
  run: number;
  /** MIDAS serial of the event. */
  event: number;
}

/**
 * Collects clusters column by column and writes them as an Arrow IPC file (the format
 * `pyarrow.ipc.open_file` and `pandas.read_feather` read): one row per cluster, columns run,
 * event and the features, numbers as float64 (run and event as int32/float64).
 */
export class ClusterTable {
  private readonly runs: number[] = [];
  private readonly events: number[] = [];
  private readonly features = new Map<keyof ClusterFeatures, number[]>(
    CLUSTER_FEATURE_NAMES.map((name) => [name, []]),
  );

  add(key: ClusterKey, clusters: readonly ClusterFeatures[]): void {
    for (const cluster of clusters) {
      this.runs.push(key.run);
      this.events.push(key.event);
      for (const name of CLUSTER_FEATURE_NAMES) this.features.get(name)!.push(cluster[name]);
    }
  }

  get length(): number {
    return this.runs.length;
  }

  toArrowFile(): Uint8Array {
    const columns: Record<string, Int32Array | Float64Array> = {
      run: Int32Array.from(this.runs),
      event: Float64Array.from(this.events),
    };
    for (const name of CLUSTER_FEATURE_NAMES)
      columns[name] = Float64Array.from(this.features.get(name)!);
    return tableToIPC(tableFromArrays(columns), 'file');
  }
}

/** Reads back an Arrow file of clusters: column name → values. */
export function readClusterTable(bytes: Uint8Array): Record<string, number[]> {
  const table = tableFromIPC(bytes);
  const columns: Record<string, number[]> = {};
  for (const field of table.schema.fields)
    columns[field.name] = Array.from(table.getChild(field.name)!.toArray() as ArrayLike<number>);
  return columns;
}
