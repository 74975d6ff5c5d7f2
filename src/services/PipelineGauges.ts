import { bindDate } from '../db/bulkInsert';
import type { Database } from '../db/Database';
import { Job } from '../entities/Job';
import { logger } from '../logger';
import { JobKind, JobState } from '../schema/enums';
import type { MetricService } from './MetricService';

/**
 * The pipeline's own gauges, recorded as metrics like any slow-control value (so Grafana and
 * the alarm rules see them): queue depth per kind, jobs running, and the ingest and
 * reconstruction throughput of the last interval. Also applies the metric retention.
 */
export class PipelineGauges {
  private readonly log = logger('gauges');
  private timer: NodeJS.Timeout | undefined;
  private retentionTimer: NodeJS.Timeout | undefined;
  private last = new Date();

  constructor(
    private readonly db: Database,
    private readonly metrics: MetricService,
  ) {}

  start(everyMs: number, retention: { rawDays: number; keepDays: number }): void {
    if (everyMs > 0) {
      this.timer = setInterval(() => {
        this.record().catch((error) => this.log.warn({ err: error }, 'could not record gauges'));
      }, everyMs);
      this.timer.unref();
    }
    // Metric retention: hourly, and it is cheap when there is nothing to do.
    if (retention.rawDays > 0 || retention.keepDays > 0) {
      this.retentionTimer = setInterval(() => {
        const day = 86_400_000;
        this.metrics
          .compact({
            downsampleBefore: retention.rawDays
              ? new Date(Date.now() - retention.rawDays * day)
              : undefined,
            deleteBefore: retention.keepDays
              ? new Date(Date.now() - retention.keepDays * day)
              : undefined,
          })
          .catch((error) => this.log.warn({ err: error }, 'metric retention failed'));
      }, 3_600_000);
      this.retentionTimer.unref();
    }
  }

  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.retentionTimer);
  }

  async record(now = new Date()): Promise<void> {
    const seconds = Math.max(0.001, (now.getTime() - this.last.getTime()) / 1000);
    const counts: Array<{ kind: string; state: string; n: string | number }> = await this.db.manager
      .createQueryBuilder(Job, 'job')
      .select('job.kind', 'kind')
      .addSelect('job.state', 'state')
      .addSelect('COUNT(*)', 'n')
      .where('job.state IN (:...states)', { states: [JobState.QUEUED, JobState.RUNNING] })
      .groupBy('job.kind')
      .addGroupBy('job.state')
      .getRawMany();
    const finished: Array<{ kind: string; n: string | number; bytes: string | number | null }> =
      await this.db.manager.query(
        `SELECT j.kind AS kind, COUNT(*) AS n, SUM(f.sizeBytes) AS bytes FROM jobs j
         LEFT JOIN data_files f ON f.runId = j.runId AND f.kind = 'RAW'
         WHERE j.state = ? AND j.finishedAt >= ? AND j.finishedAt < ? GROUP BY j.kind`,
        [JobState.SUCCEEDED, bindDate(this.db.manager, this.last), bindDate(this.db.manager, now)],
      );
    const samples = Object.values(JobKind).flatMap((kind) => [
      {
        name: `pipeline.queued.${kind}`,
        value: this.count(counts, kind, JobState.QUEUED),
        time: now,
      },
      {
        name: `pipeline.running.${kind}`,
        value: this.count(counts, kind, JobState.RUNNING),
        time: now,
      },
    ]);
    const ingest = finished.find((f) => f.kind === JobKind.INGEST);
    const reco = finished.find((f) => f.kind === JobKind.RECONSTRUCT);
    samples.push(
      {
        name: 'pipeline.ingest.MBps',
        value: Number(ingest?.bytes ?? 0) / 1e6 / seconds,
        time: now,
      },
      {
        name: 'pipeline.reconstruct.runsPerHour',
        value: (Number(reco?.n ?? 0) * 3600) / seconds,
        time: now,
      },
    );
    this.last = now;
    await this.metrics.record(samples);
  }

  private count(
    rows: Array<{ kind: string; state: string; n: string | number }>,
    kind: string,
    state: string,
  ): number {
    return Number(rows.find((r) => r.kind === kind && r.state === state)?.n ?? 0);
  }
}
