import type { EntityManager } from 'typeorm';
import { bulkInsert, quoteIdentifier } from '../db/bulkInsert';
import { Cluster } from '../entities/Cluster';
import { EventSummary } from '../entities/EventSummary';
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
  await manager.delete(EventSummary, { runId, recoVersion: version });
}

/**
 * Writes a batch of events' clusters (multi-row INSERT) and summaries: on the event rows (one
 * UPDATE … CASE) for the run's current version, aside in event_summaries for another one.
 */
export async function writeResults(
  manager: EntityManager,
  runId: number,
  version: number,
  results: readonly EventResult[],
  current = true,
): Promise<void> {
  if (results.length === 0) return;
  const rows = results.flatMap(({ eventId, clusters }) =>
    clusters.map((c) => [eventId, runId, version, ...CLUSTER_FEATURE_NAMES.map((name) => c[name])]),
  );
  await bulkInsert(manager, 'clusters', CLUSTER_COLUMNS, rows);
  if (!current) {
    await bulkInsert(
      manager,
      'event_summaries',
      ['eventId', 'recoVersion', 'runId', ...SUMMARY_COLUMNS],
      results.map((r) => [r.eventId, version, runId, ...summaryValues(r)]),
    );
    return;
  }

  const quote = (name: string) => quoteIdentifier(manager, name);
  const params: unknown[] = [];
  const cases = SUMMARY_COLUMNS.map((column, k) => {
    const whens = results.map((r) => {
      params.push(r.eventId, summaryValues(r)[k]);
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

/** An event's SUMMARY_COLUMNS values. */
function summaryValues(r: EventResult): unknown[] {
  return [
    r.clusters.length,
    r.summary.integral,
    r.summary.mean,
    r.summary.rms,
    r.summary.spark ? 1 : 0,
  ];
}

/**
 * Makes `version` the current one of a run's events: the summaries now on the event rows go
 * aside under `previous` (when there is one), and the version's summaries take their place.
 */
export async function swapInSummaries(
  manager: EntityManager,
  runId: number,
  version: number,
  previous: number | null,
): Promise<void> {
  if (previous === version) return; // written on the event rows already
  const quote = (name: string) => quoteIdentifier(manager, name);
  const columns = SUMMARY_COLUMNS.map(quote);
  if (previous !== null) {
    await manager.delete(EventSummary, { runId, recoVersion: previous });
    await manager.query(
      `INSERT INTO ${quote('event_summaries')} (${quote('eventId')}, ${quote('recoVersion')}, ${quote('runId')}, ${columns.join(', ')}) ` +
        `SELECT ${quote('id')}, ?, ${quote('runId')}, ${columns.join(', ')} FROM ${quote('events')} WHERE ${quote('runId')} = ?`,
      [previous, runId],
    );
  }
  // A correlated subquery per column: the one UPDATE from another table both databases accept.
  const sets = columns.map(
    (column) =>
      `${column} = (SELECT s.${column} FROM ${quote('event_summaries')} s WHERE s.${quote('eventId')} = ${quote('events')}.${quote('id')} AND s.${quote('recoVersion')} = ?)`,
  );
  await manager.query(
    `UPDATE ${quote('events')} SET ${sets.join(', ')} WHERE ${quote('runId')} = ?`,
    [...columns.map(() => version), runId],
  );
  await manager.delete(EventSummary, { runId, recoVersion: version });
}
