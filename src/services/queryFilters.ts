import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { Dialect } from '../db/dataSource';
import { QualityStatus } from '../schema/enums';
import type { ClusterFilter, EventFilter } from '../schema/filters';
import type { RunFilter } from '../schema/runInputs';
import { normaliseRunTypes } from './runType';

// The WHERE clauses of the list queries, shared by the GraphQL pages and the bulk export so that
// one filter selects the same rows whichever way it is asked.

type Query = SelectQueryBuilder<ObjectLiteral>;

/** RunFilter on the alias `run`. */
export function applyRunFilter(query: Query, filter: RunFilter | null | undefined): void {
  if (filter?.minRunNumber != null)
    query.andWhere('run.runNumber >= :minRun', { minRun: filter.minRunNumber });
  if (filter?.maxRunNumber != null)
    query.andWhere('run.runNumber <= :maxRun', { maxRun: filter.maxRunNumber });
  if (filter?.startedFrom)
    query.andWhere('run.startedAt >= :startedFrom', { startedFrom: filter.startedFrom });
  if (filter?.startedTo)
    query.andWhere('run.startedAt < :startedTo', { startedTo: filter.startedTo });
  const runTypes = normaliseRunTypes(filter?.runTypes);
  if (runTypes.length) query.andWhere('run.runType IN (:...runTypes)', { runTypes });
  if (filter?.pedestal != null)
    query.andWhere('run.pedestal = :pedestal', { pedestal: filter.pedestal });
  if (filter?.state) query.andWhere('run.state = :state', { state: filter.state });
  if (filter?.quality?.length)
    query.andWhere('run.quality IN (:...quality)', { quality: filter.quality });
  if (filter?.descriptionContains) {
    query.andWhere("LOWER(run.description) LIKE :text ESCAPE '!'", {
      text: `%${escapeLike(filter.descriptionContains.toLowerCase())}%`,
    });
  }
}

/** EventFilter on the alias `event`. */
export function applyEventFilter(
  query: Query,
  filter: EventFilter | null | undefined,
  dialect: Dialect,
): void {
  if (filter?.eventIds?.length)
    query.andWhere('event.eventId IN (:...eventIds)', { eventIds: filter.eventIds });
  if (filter?.minSerial != null)
    query.andWhere('event.serial >= :minSerial', { minSerial: filter.minSerial });
  if (filter?.maxSerial != null)
    query.andWhere('event.serial <= :maxSerial', { maxSerial: filter.maxSerial });
  if (filter?.from) query.andWhere('event.timestamp >= :from', { from: filter.from });
  if (filter?.to) query.andWhere('event.timestamp < :to', { to: filter.to });
  if (filter?.bankName) {
    // Bank names are stored comma-separated; match a whole name.
    // (MariaDB reads || as OR unless PIPES_AS_CONCAT is set.)
    const padded =
      dialect === 'sqlite'
        ? "(',' || event.bankNames || ',')"
        : "CONCAT(',', event.bankNames, ',')";
    query.andWhere(`${padded} LIKE :bank`, { bank: `%,${filter.bankName},%` });
  }
}

/** True when the cluster filter has run conditions (the run joined as `run`). */
export function clusterFilterNeedsRun(filter: ClusterFilter): boolean {
  return (
    filter.runNumberFrom != null ||
    filter.runNumberTo != null ||
    normaliseRunTypes(filter.runTypes).length > 0 ||
    Boolean(filter.onlyGoodRuns)
  );
}

/** The run conditions of a cluster filter, on the alias `run`. */
export function applyClusterRunFilter(query: Query, filter: ClusterFilter): void {
  if (filter.runNumberFrom != null)
    query.andWhere('run.runNumber >= :from', { from: filter.runNumberFrom });
  if (filter.runNumberTo != null)
    query.andWhere('run.runNumber <= :to', { to: filter.runNumberTo });
  const runTypes = normaliseRunTypes(filter.runTypes);
  if (runTypes.length) query.andWhere('run.runType IN (:...runTypes)', { runTypes });
  if (filter.onlyGoodRuns) query.andWhere('run.quality = :good', { good: QualityStatus.GOOD });
}

/**
 * The cluster conditions of a cluster filter, on the alias `cluster`: the version and the
 * ranges of the features. The version is the filter's, else the run's current one — given as
 * `runVersion` by a caller that reads one run, else each row's run's — and, for a run that has
 * none recorded (reconstructed before versions were per run), `configuredVersion`.
 */
export function applyClusterFilter(
  query: Query,
  filter: ClusterFilter,
  configuredVersion: number,
  runVersion?: number | null,
): void {
  if (filter.recoVersion != null || runVersion !== undefined) {
    query.andWhere('cluster.recoVersion = :version', {
      version: filter.recoVersion ?? runVersion ?? configuredVersion,
    });
  } else {
    query.andWhere(`cluster.recoVersion = ${currentVersionOf('cluster.runId')}`, {
      configuredVersion,
    });
  }
  const ranges: Array<[keyof ClusterFilter, string, '>=' | '<=']> = [
    ['minIntegral', 'integral', '>='],
    ['maxIntegral', 'integral', '<='],
    ['minSize', 'size', '>='],
    ['maxSize', 'size', '<='],
    ['minLength', 'length', '>='],
    ['maxLength', 'length', '<='],
  ];
  for (const [key, column, op] of ranges) {
    const value = filter[key];
    if (value != null) query.andWhere(`cluster.${column} ${op} :${key}`, { [key]: value });
  }
}

/** Escapes LIKE wildcards with '!', an escape character both SQLite and MariaDB accept as written. */
function escapeLike(text: string): string {
  return text.replace(/[!%_]/g, (c) => `!${c}`);
}

/**
 * SQL for the current reconstruction version of the run whose id is `runIdColumn`; takes the
 * parameter :configuredVersion for runs with none recorded.
 */
export function currentVersionOf(runIdColumn: string): string {
  return `COALESCE((SELECT current_run.recoVersion FROM runs current_run WHERE current_run.id = ${runIdColumn}), :configuredVersion)`;
}
