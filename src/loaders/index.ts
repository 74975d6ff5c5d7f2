import DataLoader from 'dataloader';
import type { DataFile } from '../entities/DataFile';
import type { Job } from '../entities/Job';
import type { QualityFlag } from '../entities/QualityFlag';
import type { Run } from '../entities/Run';
import type { TapeCopy } from '../entities/TapeCopy';
import type { Services } from '../services';

export interface Loaders {
  runById: DataLoader<number, Run | null>;
  filesByRunId: DataLoader<number, DataFile[]>;
  tapeCopiesByFileId: DataLoader<number, TapeCopy[]>;
  qualityFlagsByRunId: DataLoader<number, QualityFlag[]>;
  jobsByRunId: DataLoader<number, Job[]>;
}

function groupBy<T, K>(rows: T[], keys: readonly K[], keyOf: (row: T) => K): T[][] {
  const groups = new Map<K, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}

/**
 * Every DataLoader, built per request (and per subscription event, uncached): one SQL
 * statement per relation and page, whatever the page size.
 */
export function createLoaders(
  services: Services,
  options: { cache: boolean } = { cache: true },
): Loaders {
  const opts = { cache: options.cache };
  return {
    runById: new DataLoader(async (ids) => {
      const rows = await services.runs.byIds(ids);
      const byId = new Map(rows.map((run) => [run.id, run]));
      return ids.map((id) => byId.get(id) ?? null);
    }, opts),
    filesByRunId: new DataLoader(
      async (ids) => groupBy(await services.files.byRunIds(ids), ids, (f) => f.runId),
      opts,
    ),
    tapeCopiesByFileId: new DataLoader(
      async (ids) => groupBy(await services.files.tapeCopiesByFileIds(ids), ids, (c) => c.fileId),
      opts,
    ),
    qualityFlagsByRunId: new DataLoader(
      async (ids) => groupBy(await services.quality.currentByRunIds(ids), ids, (f) => f.runId),
      opts,
    ),
    jobsByRunId: new DataLoader(
      async (ids) => groupBy(await services.jobs.byRunIds(ids), ids, (j) => j.runId ?? -1),
      opts,
    ),
  };
}
