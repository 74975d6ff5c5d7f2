import { Counter, Gauge, type Registry } from 'prom-client';
import { databaseDate } from '../db/databaseDate';
import { DataFile } from '../entities/DataFile';
import { DqMetric } from '../entities/DqMetric';
import { Job } from '../entities/Job';
import { TapeCopy } from '../entities/TapeCopy';
import type { Runtime } from '../runtime';
import { FileKind, JobState, ReplicaState, TapeState } from '../schema/enums';
import { openConnections } from '../subscriptions/wsOptions';

/**
 * What a dashboard of the pipeline needs beside the job counts: how long the oldest queued job
 * of each kind has waited, images reconstructed, bytes still to go to tape, live subscriptions.
 * Read from the database at scrape time (so they cover every worker process), except the
 * subscriptions, which are this replica's own. Labels stay few: job kinds only.
 */
export function registerPipelineMetrics(registry: Registry, runtime: Runtime): void {
  const registers = [registry];
  const db = () => runtime.db.manager;

  new Gauge({
    name: 'cygno_job_queue_oldest_age_seconds',
    help: 'Age of the oldest queued job of each kind (0 when none waits).',
    labelNames: ['kind'],
    registers,
    async collect() {
      this.reset();
      // MIN(createdAt) of a group of queued jobs: never null.
      const rows: Array<{ kind: string; oldest: string | Date }> = await db()
        .createQueryBuilder(Job, 'job')
        .select('job.kind', 'kind')
        .addSelect('MIN(job.createdAt)', 'oldest')
        .where('job.state = :queued', { queued: JobState.QUEUED })
        .groupBy('job.kind')
        .getRawMany();
      for (const r of rows) {
        const oldest = databaseDate(r.oldest);
        this.set({ kind: r.kind }, Math.max(0, (Date.now() - oldest.getTime()) / 1000));
      }
    },
  });

  new Counter({
    name: 'cygno_reco_images_total',
    help: 'Camera images reconstructed (counted when each run reconstruction ends; rate() gives images/s).',
    registers,
    async collect() {
      this.reset();
      const row = await db()
        .createQueryBuilder(DqMetric, 'metric')
        .select('SUM(metric.value)', 'images')
        .where("metric.name = 'images'")
        .getRawOne<{ images: string | number | null }>();
      this.inc(Number(row?.images ?? 0));
    },
  });

  new Gauge({
    name: 'cygno_tape_backlog_bytes',
    help: 'Bytes of raw files in the object store without a verified tape copy.',
    registers,
    async collect() {
      const row = await db()
        .createQueryBuilder(DataFile, 'file')
        .leftJoin(TapeCopy, 'copy', 'copy.fileId = file.id AND copy.state = :onTape', {
          onTape: TapeState.ON_TAPE,
        })
        .select('SUM(file.sizeBytes)', 'bytes')
        .where('file.kind = :raw AND file.cloudState = :available AND copy.id IS NULL', {
          raw: FileKind.RAW,
          available: ReplicaState.AVAILABLE,
        })
        .getRawOne<{ bytes: string | number | null }>();
      this.set(Number(row?.bytes ?? 0));
    },
  });

  new Gauge({
    name: 'cygno_subscriptions',
    help: 'Live GraphQL subscriptions on this replica (graphql-ws).',
    registers,
    collect() {
      let live = 0;
      for (const connection of openConnections)
        live += Object.keys(connection.subscriptions).length;
      this.set(live);
    },
  });
}
