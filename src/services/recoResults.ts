import type { EntityManager } from 'typeorm';
import { bulkInsert, quoteIdentifier } from '../db/bulkInsert';
import { Cluster } from '../entities/Cluster';
import { CLUSTER_FEATURE_NAMES, type ClusterFeatures } from '../reco/image/features';
import type { ImageSummary } from '../reco/image/reconstruct';

/** The reconstruction of one indexed event. */
export interface EventResult {
  eventId: number;
  summary: ImageSummary;
  clusters: readonly ClusterFeatures[];
}

const CLUSTER_COLUMNS = ['eventId', 'runId', 'recoVersion', ...CLUSTER_FEATURE_NAMES] as const;

const SUMMARY_COLUMNS = [
  'clusterCount',
  'imageIntegral',
  'imageMean',
  'imageRms',
  'spark',
] as const;

/** Removes what an earlier attempt at this (run, version) wrote: a re-run never doubles rows. */
export async function clearResults(
  manager: EntityManager,
  runId: number,
  version: number,
): Promise<void> {
  await manager.delete(Cluster, { runId, recoVersion: version });
}

/** Writes a batch of events' clusters (multi-row INSERT) and summaries (one UPDATE … CASE). */
export async function writeResults(
  manager: EntityManager,
  runId: number,
  version: number,
  results: readonly EventResult[],
): Promise<void> {
  if (results.length === 0) return;
  const rows = results.flatMap(({ eventId, clusters }) =>
    clusters.map((c) => [eventId, runId, version, ...CLUSTER_FEATURE_NAMES.map((name) => c[name])]),
  );
  await bulkInsert(manager, 'clusters', CLUSTER_COLUMNS, rows);

  const quote = (name: string) => quoteIdentifier(manager, name);
  const values = (r: EventResult): unknown[] => [
    r.clusters.length,
    r.summary.integral,
    r.summary.mean,
    r.summary.rms,
    r.summary.spark ? 1 : 0,
  ];
  const params: unknown[] = [];
  const cases = SUMMARY_COLUMNS.map((column, k) => {
    const whens = results.map((r) => {
      params.push(r.eventId, values(r)[k]);
      return 'WHEN ? THEN ?';
    });
    return `${quote(column)} = CASE ${quote('id')} ${whens.join(' ')} END`;
  });
  params.push(...results.map((r) => r.eventId));
  await manager.query(
    `UPDATE ${quote('events')} SET ${cases.join(', ')} WHERE ${quote('id')} IN (${results.map(() => '?').join(', ')})`,
    params,
  );
}
