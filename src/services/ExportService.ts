import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { Principal, Role } from '../auth/roles';
import type { Database } from '../db/Database';
import { Cluster } from '../entities/Cluster';
import { Event } from '../entities/Event';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { AppError, ErrorCode } from '../errors';
import {
  CLUSTER_COLUMNS,
  EVENT_COLUMNS,
  selectColumns,
  type ExportColumn,
} from '../export/columns';
import { encodedRows, type ByteSource } from '../export/byteSource';
import { encoderFor, type ExportFormat } from '../export/encoders';
import { ExportThreads } from '../export/exportThreads';
import { parallelSource } from '../export/parallelSource';
import { countedOpen, openRowCursor, type Query, type RowCursor } from '../export/rowCursor';
import { JobKind, JobState } from '../schema/enums';
import type { ClusterFilter, EventFilter } from '../schema/filters';
import type { RunFilter } from '../schema/runInputs';
import {
  applyClusterFilter,
  applyClusterRunFilter,
  applyEventFilter,
  applyRunFilter,
} from './queryFilters';

export type ExportKind = 'clusters' | 'events';

export interface ExportRequest {
  kind: ExportKind;
  /** ClusterFilter for clusters; RunFilter and EventFilter fields together for events. */
  filter: ClusterFilter | (RunFilter & EventFilter);
  /** Column names, in the order wanted; all when absent. */
  columns?: readonly string[];
  /** At most this many rows (the first ones). */
  limit?: number;
}

export interface OpenExport {
  columns: ExportColumn[];
  contentType: string;
  /** How many runs the export walks. */
  runs: number;
  /** How many threads read it (1: the gateway's own). */
  threads: number;
  bytes: ByteSource;
}

export interface ExportOptions {
  version: number;
  rowLimits: ReadonlyMap<Role, number>;
  /** Rows per record batch and per database read. */
  batchRows: number;
  /** Threads that read an export of several runs at once (1: none beside the gateway's own). */
  threads: number;
  /** The database, for the threads' own connections. */
  databaseUrl: string;
}

/** The export is larger than the caller's role may take in one go (HTTP 413). */
export class RowLimitError extends AppError {
  constructor(limit: number, roles: readonly Role[]) {
    super(
      ErrorCode.EXPORT_TOO_LARGE,
      `this export has more than ${limit} rows, the most one export may return for your role ` +
        `(${roles.join(', ')}; EXPORT_ROW_LIMITS): narrow the filter, or ask for fewer rows with limit`,
      { limit },
      413,
    );
  }
}

interface SelectedRun {
  id: number;
  runNumber: number;
  /** The version of its image summaries: its current one (the latest successful, if unset). */
  recoVersion: number | null;
  /** Its current version as recorded (null: none recorded; the configured one applies). */
  currentVersion: number | null;
}

type Builder = SelectQueryBuilder<ObjectLiteral>;

// Placeholders of a run's id range, replaced by the values its bounds query finds: objects, so
// that no filter value can be mistaken for them when their places are looked up.
const ID_FROM = Object.freeze({ idFrom: true });
const ID_TO = Object.freeze({ idTo: true });

/**
 * Bulk exports of clusters and events: the rows a GraphQL list with the same filter pages
 * through, in run-number order and by id within a run. The export walks the runs the filter
 * selects and reads each run's rows with a query of its own, all on one connection in one
 * snapshot: each such query follows an index in order (clusters by run, version and id), where
 * one query over every run joined to its run and sorted by id makes MariaDB sort the whole
 * result in a temporary table before the first row goes out.
 */
export class ExportService {
  private readonly threads: ExportThreads;

  constructor(
    private readonly db: Database,
    private readonly options: ExportOptions,
  ) {
    this.threads = new ExportThreads(options.threads > 1 ? options.threads : 0);
  }

  /** Stops the export threads. */
  close(): Promise<void> {
    return this.threads.close();
  }

  catalog(kind: ExportKind): readonly ExportColumn[] {
    return kind === 'clusters' ? CLUSTER_COLUMNS : EVENT_COLUMNS;
  }

  /** Checks the request (columns, the role's row limit) and opens its rows, encoded. */
  async open(
    request: ExportRequest,
    principal: Principal,
    format: ExportFormat,
  ): Promise<OpenExport> {
    const columns = selectColumns(this.catalog(request.kind), request.columns);
    const roleLimit = this.rowLimitFor(principal);
    if (roleLimit < (request.limit ?? Infinity) && (await this.moreThan(request, roleLimit)))
      throw new RowLimitError(roleLimit, principal.roles);
    const limit = Math.min(request.limit ?? Infinity, roleLimit);
    const runs = await this.selectedRuns(request);
    const queryFor = (run: SelectedRun): Query => {
      if (request.kind === 'events') {
        const query = this.eventQuery(request.filter as EventFilter, columns, run);
        if (Number.isFinite(limit)) query.limit(limit);
        const [sql, parameters] = query.getQueryAndParameters();
        return { sql, parameters };
      }
      return this.clusterQuery(request.filter as ClusterFilter, columns, run, limit);
    };
    // Every run's query selects the same expressions: the first tells where each column lands.
    const sample = queryFor(
      runs[0] ?? { id: 0, runNumber: 0, recoVersion: null, currentVersion: null },
    );
    const positions = selectPositions(sample.sql, columns.length);
    const encoder = encoderFor(format, columns, positions, this.options.batchRows);
    const queries = { count: runs.length, at: (i: number) => queryFor(runs[i]) };
    const file = String(this.db.dataSource.options.database);
    // Threads for a whole export of several runs (when idle ones are there); a limited one
    // stops early, in order, here.
    const workers =
      Number.isFinite(limit) || runs.length < 2 || file === ':memory:'
        ? []
        : this.threads.acquire(Math.min(this.options.threads, runs.length));
    if (workers.length === 1) {
      this.threads.release(workers[0]);
      workers.length = 0;
    }
    const threads = Math.max(1, workers.length);
    let bytes: ByteSource;
    if (threads > 1) {
      bytes = countedOpen(
        parallelSource(
          this.threads,
          workers,
          queries,
          {
            dialect: this.db.dialect,
            target: this.db.dialect === 'sqlite' ? file : this.options.databaseUrl,
            format,
            columns,
            positions,
            batchRows: this.options.batchRows,
          },
          encoder.start(),
          encoder.end(),
        ),
      );
    } else {
      const cursor = await openRowCursor(this.db, queries);
      bytes = encodedRows(
        Number.isFinite(limit) ? limitedCursor(cursor, limit) : cursor,
        encoder,
        this.options.batchRows,
      );
    }
    return { columns, contentType: encoder.contentType, runs: runs.length, threads, bytes };
  }

  /** The most rows the caller may export: the largest of its roles' limits (unnamed: none). */
  rowLimitFor(principal: Principal): number {
    let limit = 0;
    for (const role of principal.roles)
      limit = Math.max(limit, this.options.rowLimits.get(role) ?? Infinity);
    return limit || Infinity;
  }

  /** The runs the filter selects, in run-number order. */
  private async selectedRuns(request: ExportRequest): Promise<SelectedRun[]> {
    const query = this.db.manager
      .createQueryBuilder(Run, 'run')
      .select(['run.id', 'run.runNumber', 'run.recoVersion', 'run.pedestal'])
      .orderBy('run.runNumber', 'ASC');
    if (request.kind === 'clusters') applyClusterRunFilter(query, request.filter as ClusterFilter);
    else applyRunFilter(query, request.filter as RunFilter);
    const runs = await query.getMany();
    const versions = new Map<number, number>();
    if (request.kind === 'events' && runs.length > 0) {
      const rows: Array<{ runId: number; version: number }> = await this.db.manager
        .createQueryBuilder(Job, 'job')
        .select('job.runId', 'runId')
        .addSelect('MAX(job.version)', 'version')
        .where('job.kind = :kind', { kind: JobKind.RECONSTRUCT })
        .andWhere('job.state = :state', { state: JobState.SUCCEEDED })
        .andWhere('job.runId IS NOT NULL')
        .groupBy('job.runId')
        .getRawMany();
      for (const row of rows) versions.set(Number(row.runId), Number(row.version));
    }
    return runs.map((run) => ({
      id: run.id,
      runNumber: run.runNumber,
      // The version of the image summaries: a pedestal run has none (PEDESTAL writes a map).
      recoVersion: run.pedestal ? null : (run.recoVersion ?? versions.get(run.id) ?? null),
      currentVersion: run.recoVersion,
    }));
  }

  /** Whether the export has more than `limit` rows (counting at most limit + 1 of them). */
  private async moreThan(request: ExportRequest, limit: number): Promise<boolean> {
    const query =
      request.kind === 'clusters'
        ? this.db.manager
            .createQueryBuilder(Cluster, 'cluster')
            .innerJoin(Run, 'run', 'run.id = cluster.runId')
        : this.db.manager
            .createQueryBuilder(Event, 'event')
            .innerJoin(Run, 'run', 'run.id = event.runId');
    if (request.kind === 'clusters') {
      const filter = request.filter as ClusterFilter;
      applyClusterRunFilter(query, filter);
      applyClusterFilter(query, filter, this.options.version);
    } else {
      applyRunFilter(query, request.filter as RunFilter);
      applyEventFilter(query, request.filter as EventFilter, this.db.dialect);
    }
    const [sql, parameters] = query
      .select('1', 'one')
      .limit(limit + 1)
      .getQueryAndParameters();
    const [{ n }] = await this.db.manager.query(
      `SELECT COUNT(*) AS n FROM (${sql}) bounded`,
      parameters,
    );
    return Number(n) > limit;
  }

  /**
   * One run's clusters. On MariaDB the query reads the table by primary key between the run's
   * first and last cluster id of the version (found in the same snapshot by `bounds`): twice as
   * fast as following the (runId, recoVersion) index, which looks every row up by its key.
   */
  private clusterQuery(
    filter: ClusterFilter,
    columns: readonly ExportColumn[],
    run: SelectedRun,
    limit: number,
  ): Query {
    const version = filter.recoVersion ?? run.currentVersion ?? this.options.version;
    const query = this.db.manager
      .createQueryBuilder(Cluster, 'cluster')
      .where('cluster.runId = :runId', { runId: run.id });
    if (uses(columns, 'event')) query.innerJoin(Event, 'event', 'event.id = cluster.eventId');
    applyClusterFilter(query, filter, this.options.version, run.currentVersion);
    const byKey = this.db.dialect === 'mariadb';
    if (byKey) {
      query
        .andWhere('cluster.id BETWEEN :idFrom AND :idTo', { idFrom: ID_FROM, idTo: ID_TO })
        .useIndex('PRIMARY');
    }
    select(query, columns, run);
    query.orderBy('cluster.id', 'ASC');
    if (Number.isFinite(limit)) query.limit(limit);
    const [sql, parameters] = query.getQueryAndParameters();
    if (!byKey) return { sql, parameters };
    const [boundsSql, boundsParameters] = this.db.manager
      .createQueryBuilder(Cluster, 'cluster')
      .select('MIN(cluster.id)', 'idFrom')
      .addSelect('MAX(cluster.id)', 'idTo')
      .where('cluster.runId = :runId', { runId: run.id })
      .andWhere('cluster.recoVersion = :version', { version })
      .getQueryAndParameters();
    return {
      sql,
      parameters,
      bounds: {
        sql: boundsSql,
        parameters: boundsParameters,
        at: [parameters.indexOf(ID_FROM), parameters.indexOf(ID_TO)],
      },
    };
  }

  private eventQuery(filter: EventFilter, columns: readonly ExportColumn[], run: SelectedRun) {
    const query = this.db.manager
      .createQueryBuilder(Event, 'event')
      .where('event.runId = :runId', { runId: run.id });
    applyEventFilter(query, filter, this.db.dialect);
    select(query, columns, run);
    return query.orderBy('event.id', 'ASC');
  }
}

/**
 * Selects the columns as c0, c1, …; the run's own columns (run.*) as constants of the query,
 * so that no run is joined to each row.
 */
function select(query: Builder, columns: readonly ExportColumn[], run: SelectedRun): void {
  const runValues: Record<string, number | null> = {
    'run.runNumber': run.runNumber,
    'run.recoVersion': run.recoVersion,
  };
  columns.forEach((column, i) => {
    const expression = column.sql in runValues ? sqlInteger(runValues[column.sql]) : column.sql;
    if (i === 0) query.select(expression, `c${i}`);
    else query.addSelect(expression, `c${i}`);
  });
}

/** An integer from the database written into SQL (never text from a request). */
function sqlInteger(value: number | null): string {
  if (value === null) return 'NULL';
  if (!Number.isSafeInteger(value)) throw new Error(`not an integer: ${value}`);
  return String(value);
}

/** Stops a cursor after `limit` rows (each run's query has the limit too; this is the total). */
function limitedCursor(cursor: RowCursor, limit: number): RowCursor {
  let left = limit;
  return {
    async next(max) {
      if (left <= 0) return [];
      const rows = await cursor.next(Math.min(max, left));
      left -= rows.length;
      return rows;
    },
    close: () => cursor.close(),
  };
}

/**
 * TypeORM writes the selected expressions grouped by alias, not in the order they were added:
 * where each `c<i>` alias landed in the SELECT list.
 */
function selectPositions(sql: string, count: number): number[] {
  const at = Array.from({ length: count }, (_, i) => {
    const match = new RegExp(`AS ["\`]c${i}["\`]`).exec(sql);
    if (!match) throw new Error(`export query lost its column c${i}`);
    return match.index;
  });
  const order = [...at.keys()].sort((a, b) => at[a] - at[b]);
  const positions = new Array<number>(count);
  order.forEach((column, position) => (positions[column] = position));
  return positions;
}

function uses(columns: readonly ExportColumn[], alias: string): boolean {
  return columns.some((c) => c.sql.startsWith(`${alias}.`));
}
