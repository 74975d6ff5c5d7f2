import DataLoader from 'dataloader';
import type { Cluster } from '../entities/Cluster';
import type { DataFile } from '../entities/DataFile';
import type { DqMetric } from '../entities/DqMetric';
import type { FileDeletion } from '../entities/FileDeletion';
import type { Event } from '../entities/Event';
import type { EventPreview } from '../entities/EventPreview';
import type { Job } from '../entities/Job';
import type { QualityFlag } from '../entities/QualityFlag';
import type { Reconstruction } from '../entities/Reconstruction';
import type { Run } from '../entities/Run';
import type { TapeCopy } from '../entities/TapeCopy';
import type { CampaignProgress } from '../schema/campaignInputs';
import type { Services } from '../services';

type Columns = readonly string[] | undefined;

/**
 * Loaders by relation. Each takes the columns the selection needs (see Projection) and hands
 * out one DataLoader per column set, so all items of a list share one batch.
 */
export interface Loaders {
  runById(columns?: Columns): DataLoader<number, Run | null>;
  eventById(columns?: Columns): DataLoader<number, Event | null>;
  filesByRunId(columns?: Columns): DataLoader<number, DataFile[]>;
  tapeCopiesByFileId(columns?: Columns): DataLoader<number, TapeCopy[]>;
  qualityFlagsByRunId(columns?: Columns): DataLoader<number, QualityFlag[]>;
  jobsByRunId(columns?: Columns): DataLoader<number, Job[]>;
  /** Clusters of events, of the current reconstruction version. */
  clustersByEventId(columns?: Columns): DataLoader<number, Cluster[]>;
  /** DQ metrics of runs, of one reconstruction version (null: each run's newest). */
  dqMetricsByRunId(recoVersion: number | null): DataLoader<number, DqMetric[]>;
  /** Every change of runs' quality flags, oldest first (optionally of one subsystem). */
  qualityHistoryByRunId(subsystem: string | null): DataLoader<number, QualityFlag[]>;
  /** What retention freed of files. */
  deletionsByFileId(): DataLoader<number, FileDeletion[]>;
  /** The newest camera preview of a run, and of an event. */
  latestPreviewByRunId(): DataLoader<number, EventPreview | null>;
  previewByEventId(): DataLoader<number, EventPreview | null>;
  /** Every reconstruction record of runs, newest first. */
  reconstructionsByRunId(): DataLoader<number, Reconstruction[]>;
  /** Campaigns' jobs, and their counts by state. */
  jobsByCampaignId(): DataLoader<number, Job[]>;
  campaignProgress(): DataLoader<number, CampaignProgress>;
}

/** The last row per key (rows in ascending id order), null where there is none. */
function lastBy<T, K>(rows: T[], keys: readonly K[], keyOf: (row: T) => K): Array<T | null> {
  const last = new Map<K, T>();
  for (const row of rows) last.set(keyOf(row), row);
  return keys.map((key) => last.get(key) ?? null);
}

/** Rows in the order of `ids`, null for an id with no row. */
function inIdOrder<T extends { id: number }>(rows: T[], ids: readonly number[]): Array<T | null> {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return ids.map((id) => byId.get(id) ?? null);
}

function groupBy<T, K>(rows: T[], keys: readonly K[], keyOf: (row: T) => K): T[][] {
  const groups = new Map<K, T[]>(keys.map((key) => [key, []]));
  for (const row of rows) groups.get(keyOf(row))?.push(row);
  return keys.map((key) => groups.get(key) ?? []);
}

/**
 * One DataLoader per value of `key` (a column set, or a field argument), so that every item of
 * a list asking with the same value shares one batch.
 */
function perKey<K, V>(make: (key: K) => DataLoader<number, V>): (key: K) => DataLoader<number, V> {
  const loaders = new Map<K, DataLoader<number, V>>();
  return (key) => {
    let loader = loaders.get(key);
    if (!loader) loaders.set(key, (loader = make(key)));
    return loader;
  };
}

// Projection hands out one array per column set, so the array itself is the key.
const perColumnSet: <V>(
  make: (columns: Columns) => DataLoader<number, V>,
) => (columns?: Columns) => DataLoader<number, V> = perKey;

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
    runById: perColumnSet(
      (columns) =>
        new DataLoader(
          async (ids) => inIdOrder(await services.runs.byIds(ids, columns), ids),
          opts,
        ),
    ),
    eventById: perColumnSet(
      (columns) =>
        new DataLoader(
          async (ids) => inIdOrder(await services.events.byIds(ids, columns), ids),
          opts,
        ),
    ),
    filesByRunId: perColumnSet(
      (columns) =>
        new DataLoader(
          async (ids) => groupBy(await services.files.byRunIds(ids, columns), ids, (f) => f.runId),
          opts,
        ),
    ),
    tapeCopiesByFileId: perColumnSet(
      (columns) =>
        new DataLoader(
          async (ids) =>
            groupBy(await services.files.tapeCopiesByFileIds(ids, columns), ids, (c) => c.fileId),
          opts,
        ),
    ),
    qualityFlagsByRunId: perColumnSet(
      (columns) =>
        new DataLoader(
          async (ids) =>
            groupBy(await services.quality.currentByRunIds(ids, columns), ids, (f) => f.runId),
          opts,
        ),
    ),
    jobsByRunId: perColumnSet(
      (columns) =>
        new DataLoader(
          async (ids) =>
            groupBy(await services.jobs.byRunIds(ids, columns), ids, (j) => j.runId ?? -1),
          opts,
        ),
    ),
    clustersByEventId: perColumnSet(
      (columns) =>
        new DataLoader(
          async (ids) =>
            groupBy(await services.reco.clustersOfEvents(ids, columns), ids, (c) => c.eventId),
          opts,
        ),
    ),
    dqMetricsByRunId: perKey(
      (recoVersion: number | null) =>
        new DataLoader(
          async (ids) =>
            groupBy(await services.dq.metricsOfRuns(ids, recoVersion), ids, (m) => m.runId),
          opts,
        ),
    ),
    qualityHistoryByRunId: perKey(
      (subsystem: string | null) =>
        new DataLoader(
          async (ids) =>
            groupBy(await services.quality.historyOfRuns(ids, subsystem), ids, (f) => f.runId),
          opts,
        ),
    ),
    deletionsByFileId: perColumnSet(
      () =>
        new DataLoader(
          async (ids) => groupBy(await services.retention.deletionsOf(ids), ids, (d) => d.fileId),
          opts,
        ),
    ),
    latestPreviewByRunId: perColumnSet(
      () =>
        new DataLoader(
          async (ids) => lastBy(await services.previews.latestOfRuns(ids), ids, (p) => p.runId),
          opts,
        ),
    ),
    previewByEventId: perColumnSet(
      () =>
        new DataLoader(
          async (ids) => lastBy(await services.previews.ofEvents(ids), ids, (p) => p.eventId),
          opts,
        ),
    ),
    reconstructionsByRunId: perColumnSet(
      () =>
        new DataLoader(
          async (ids) => groupBy(await services.provenance.ofRuns(ids), ids, (r) => r.runId),
          opts,
        ),
    ),
    jobsByCampaignId: perColumnSet(
      () =>
        new DataLoader(
          async (ids) =>
            groupBy(await services.campaigns.jobsOf(ids), ids, (j) => j.campaignId ?? -1),
          opts,
        ),
    ),
    campaignProgress: perColumnSet(
      () => new DataLoader((ids) => services.campaigns.progressOf(ids), opts),
    ),
  };
}
