import type { ApolloServerPlugin } from '@apollo/server';
import { Router } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GatewayContext } from '../context';
import { Alarm } from '../entities/Alarm';
import { DataFile } from '../entities/DataFile';
import { Job } from '../entities/Job';
import type { Runtime } from '../runtime';
import { FileKind, JobState } from '../schema/enums';
import { registerPipelineMetrics } from './pipelineMetrics';
import { registerReplicationMetrics } from './replicationMetrics';

export type ExportOutcome = 'sent' | 'abandoned' | 'refused' | 'failed';

/** How an export ended: rows sent, and seconds it took. */
export type ExportReport = (
  kind: string,
  format: string,
  outcome: ExportOutcome,
  rows: number,
  seconds: number,
) => void;

const DURATION_BUCKETS = [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 4 * 3600];

/**
 * Prometheus metrics at `/metrics` (prom-client). What the database knows — queue depth, job
 * durations, bytes ingested, alarms — is read from it at scrape time, so the numbers cover every
 * worker process, not only this one; GraphQL timings are this replica's own.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly graphqlDuration: Histogram<'operation' | 'type' | 'outcome'>;
  private readonly exportRequests: Counter<'kind' | 'format' | 'outcome'>;
  private readonly exportRows: Counter<'kind' | 'format'>;
  private readonly exportDuration: Histogram<'kind' | 'format'>;

  constructor(private readonly runtime: Runtime) {
    const registers = [this.registry];
    const db = () => runtime.db.manager;
    collectDefaultMetrics({ register: this.registry, prefix: 'cygno_' });

    new Gauge({
      name: 'cygno_jobs',
      help: 'Jobs by kind and state.',
      labelNames: ['kind', 'state'],
      registers,
      async collect() {
        this.reset();
        const rows: Array<{ kind: string; state: string; n: string | number }> = await db()
          .createQueryBuilder(Job, 'job')
          .select('job.kind', 'kind')
          .addSelect('job.state', 'state')
          .addSelect('COUNT(*)', 'n')
          .groupBy('job.kind')
          .addGroupBy('job.state')
          .getRawMany();
        for (const r of rows) this.set({ kind: r.kind, state: r.state }, Number(r.n));
      },
    });

    const dialect = runtime.db.dialect;
    new Histogram({
      name: 'cygno_job_duration_seconds',
      help: 'Run time of finished jobs (last attempt), by kind and outcome.',
      labelNames: ['kind', 'outcome'],
      buckets: DURATION_BUCKETS,
      registers,
      async collect() {
        this.reset();
        const seconds =
          dialect === 'sqlite'
            ? '(julianday(job.finishedAt) - julianday(job.startedAt)) * 86400'
            : 'TIMESTAMPDIFF(MICROSECOND, job.startedAt, job.finishedAt) / 1000000';
        const rows: Array<{ kind: string; state: string; seconds: string | number }> = await db()
          .createQueryBuilder(Job, 'job')
          .select('job.kind', 'kind')
          .addSelect('job.state', 'state')
          .addSelect(seconds, 'seconds')
          .where('job.finishedAt IS NOT NULL AND job.startedAt IS NOT NULL')
          .andWhere('job.state IN (:...done)', { done: [JobState.SUCCEEDED, JobState.FAILED] })
          .getRawMany();
        for (const r of rows)
          this.observe(
            { kind: r.kind, outcome: r.state.toLowerCase() },
            Math.max(0, Number(r.seconds)),
          );
      },
    });

    new Counter({
      name: 'cygno_ingest_bytes_total',
      help: 'Bytes of raw files ingested (verified in the object store at least once).',
      registers,
      async collect() {
        this.reset();
        const row = await db()
          .createQueryBuilder(DataFile, 'file')
          .select('SUM(file.sizeBytes)', 'bytes')
          .where('file.kind = :raw AND file.md5 IS NOT NULL', { raw: FileKind.RAW })
          .getRawOne<{ bytes: string | number | null }>();
        this.inc(Number(row?.bytes ?? 0));
      },
    });

    new Gauge({
      name: 'cygno_alarms',
      help: 'Alarms by state and severity.',
      labelNames: ['state', 'severity'],
      registers,
      async collect() {
        this.reset();
        const rows: Array<{ state: string; severity: string; n: string | number }> = await db()
          .createQueryBuilder(Alarm, 'alarm')
          .select('alarm.state', 'state')
          .addSelect('alarm.severity', 'severity')
          .addSelect('COUNT(*)', 'n')
          .groupBy('alarm.state')
          .addGroupBy('alarm.severity')
          .getRawMany();
        for (const r of rows) this.set({ state: r.state, severity: r.severity }, Number(r.n));
      },
    });

    registerPipelineMetrics(this.registry, runtime);
    if (runtime.replicationMonitor)
      registerReplicationMetrics(this.registry, runtime.replicationMonitor);

    this.graphqlDuration = new Histogram({
      name: 'cygno_graphql_operation_duration_seconds',
      help: 'GraphQL operations served by this replica, by operation name, type and outcome.',
      labelNames: ['operation', 'type', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.exportRequests = new Counter({
      name: 'cygno_export_requests_total',
      help: 'Bulk exports served by this replica, by kind, format and outcome (sent, abandoned by the client, refused, failed).',
      labelNames: ['kind', 'format', 'outcome'],
      registers,
    });
    this.exportRows = new Counter({
      name: 'cygno_export_rows_total',
      help: 'Rows sent by bulk exports of this replica, by kind and format.',
      labelNames: ['kind', 'format'],
      registers,
    });
    this.exportDuration = new Histogram({
      name: 'cygno_export_duration_seconds',
      help: 'Time to send a whole bulk export (this replica), by kind and format.',
      labelNames: ['kind', 'format'],
      buckets: [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    });
  }

  /** What the export routes report of each export. */
  readonly recordExport: ExportReport = (kind, format, outcome, rows, seconds) => {
    this.exportRequests.inc({ kind, format, outcome });
    if (rows > 0) this.exportRows.inc({ kind, format }, rows);
    if (outcome === 'sent') this.exportDuration.observe({ kind, format }, seconds);
  };

  /** Times every operation (name capped: clients choose names, labels must stay few). */
  apolloPlugin(): ApolloServerPlugin<GatewayContext> {
    const histogram = this.graphqlDuration;
    return {
      async requestDidStart() {
        const start = process.hrtime.bigint();
        return {
          async willSendResponse({ operationName, operation, errors }) {
            const seconds = Number(process.hrtime.bigint() - start) / 1e9;
            histogram.observe(
              {
                operation: (operationName ?? 'anonymous').slice(0, 64),
                type: operation?.operation ?? 'unknown',
                outcome: errors?.length ? 'error' : 'ok',
              },
              seconds,
            );
          },
        };
      },
    };
  }

  routes(): Router {
    const router = Router();
    router.get('/metrics', async (_req, res) => {
      try {
        res.set('content-type', this.registry.contentType).send(await this.registry.metrics());
      } catch (error) {
        res
          .status(503)
          .type('text/plain')
          .send(`metrics unavailable: ${(error as Error).message}\n`);
      }
    });
    return router;
  }
}
