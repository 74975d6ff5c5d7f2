import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Database } from '../db/Database';
import { readRows } from '../db/readRows';
import { Event } from '../entities/Event';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError } from '../errors';
import type { JobQueue } from '../jobs/JobQueue';
import {
  jobParameters,
  isCurrentVersion,
  isSourceRun,
  finishReconstruction,
} from '../jobs/handlers/recoRuns';
import { logger } from '../logger';
import { provenanceFile } from '../provenance/record';
import { ClusterTable } from '../reco/clusterTable';
import { RunSummary, type Fe55Options } from '../reco/dq';
import type { RecoParameters } from '../reco/image';
import { FileKind, JobKind, JobState, RecoStatus } from '../schema/enums';
import type { DqService } from '../services/DqService';
import type { PedestalService } from '../services/PedestalService';
import type { RunService } from '../services/RunService';
import { derivedKey } from '../services/derivedFiles';
import { clearResults, writeResults, type EventResult } from '../services/recoResults';
import { storedRawFiles } from '../services/runEvents';
import type { ObjectStore } from '../storage/ObjectStore';
import { readObject } from '../storage/readObject';
import { clusterOfRow, decodeBatchResults, type BatchResults } from './batchResults';
import { batchLeaseOwner } from './leaseOwners';
import { jobIdOfToken, tokenMatches } from './jobTokens';

export interface BatchJobOptions {
  site: string;
  cameraBank: string;
  parameters: RecoParameters;
  fe55: Fe55Options;
  leaseMs: number;
  /** How long the signed URLs handed to an attempt stay valid. */
  urlTtlSeconds: number;
  system: string;
}

/** What a claimed attempt needs: everything by URL, nothing from the database. */
export interface BatchClaim {
  job: { id: number; kind: JobKind; runNumber: number; version: number; attempt: number };
  parameters: RecoParameters;
  cameraBank: string;
  heartbeatMs: number;
  pedestal: { runNumber: number; md5: string; url: string };
  inputs: Array<{ fileId: number; name: string; sizeBytes: number | null; url: string }>;
  /** The run's indexed events: [id, fileId, offset, serial, size]. */
  events: Array<[number, number, number, number, number]>;
  uploads: { clusters: string; results: string };
}

export interface BatchCompletion {
  clusters: { sizeBytes: number; md5: string };
  results: { sizeBytes: number; md5: string };
}

const WRITE_BATCH = 500;

/**
 * The gateway's side of `batch-run` (issue 18): a batch attempt, holding only its job-scoped
 * token, claims its job, heartbeats, and completes or fails it through here. Every call checks
 * the token against the one job it names and that the job is still that attempt: a token
 * cannot reach another job, and a late or duplicated attempt is refused. The results are
 * imported in the transaction that settles the job, as the local worker's are.
 */
export class BatchJobService {
  private readonly log = logger('batch');

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly queue: JobQueue,
    private readonly runs: RunService,
    private readonly pedestals: PedestalService,
    private readonly dq: DqService,
    private readonly options: BatchJobOptions,
  ) {}

  /** The job the token opens; refuses another job's id, an unknown, revoked or expired token. */
  async authenticate(jobId: number, token: string | undefined): Promise<Job> {
    const named = token ? jobIdOfToken(token) : null;
    if (named === null) throw new UnauthenticatedError('a job-scoped token is required');
    if (named !== jobId)
      throw new ForbiddenError(`this token is for job ${named}, not job ${jobId}`);
    const job = await this.db.manager.findOneBy(Job, { id: jobId });
    if (!job || !tokenMatches(token!, job.batchTokenHash))
      throw new UnauthenticatedError('the job token was revoked or belongs to an earlier attempt');
    if (job.batchTokenExpiresAt && new Date(job.batchTokenExpiresAt).getTime() < Date.now())
      throw new UnauthenticatedError('the job token has expired');
    return job;
  }

  async claim(jobId: number, token: string | undefined): Promise<BatchClaim> {
    const job = await this.authenticate(jobId, token);
    if (job.kind !== JobKind.RECONSTRUCT)
      throw new ConflictError(
        `job ${jobId} is ${job.kind}: only RECONSTRUCT runs on a batch system`,
      );
    const taken = await this.db.write((m) =>
      m
        .createQueryBuilder()
        .update(Job)
        .set({
          leaseOwner: batchLeaseOwner(job.batchId!, 'claimed'),
          leaseUntil: new Date(Date.now() + this.options.leaseMs),
          batchState: 'RUNNING',
        })
        .where('id = :id AND state = :running AND leaseOwner = :pending', {
          id: jobId,
          running: JobState.RUNNING,
          pending: batchLeaseOwner(job.batchId ?? '', 'pending'),
        })
        .execute(),
    );
    if (taken.affected !== 1)
      throw new ConflictError(
        `job ${jobId} is not waiting for this attempt (claimed already, or settled)`,
      );
    const run = await this.db.manager.findOneByOrFail(Run, { id: job.runId! });
    if (isCurrentVersion(run, job)) {
      await this.db.write((m) => m.update(Run, run.id, { recoStatus: RecoStatus.RUNNING }));
      await this.runs.publish(run.id);
    }
    await this.queue.publishCurrent({ id: jobId });
    return this.claimFor(job, run);
  }

  private async claimFor(job: Job, run: Run): Promise<BatchClaim> {
    const ttl = this.options.urlTtlSeconds;
    const pedestalRun = await this.pedestals.pedestalRunBefore(run.runNumber);
    const map = pedestalRun && (await this.pedestals.mapFileOf(pedestalRun.id));
    if (!pedestalRun || !map)
      throw new ConflictError(
        `run ${run.runNumber}: no pedestal map to reconstruct it against yet`,
      );
    const files = await storedRawFiles(this.db, run.id);
    if (files.length === 0)
      throw new ConflictError(`run ${run.runNumber}: no raw file in the object store`);
    const events = await readRows(
      this.db.manager
        .createQueryBuilder(Event, 'event')
        .where('event.runId = :runId', { runId: run.id }),
      ['id', 'fileId', 'fileOffset', 'serial', 'sizeBytes'],
    );
    const staging = this.stagingKeys(job);
    return {
      job: {
        id: job.id,
        kind: job.kind,
        runNumber: run.runNumber,
        version: job.version,
        attempt: job.attempts,
      },
      parameters: jobParameters(job, this.options.parameters),
      cameraBank: this.options.cameraBank,
      heartbeatMs: Math.max(200, Math.floor(this.options.leaseMs / 3)),
      pedestal: {
        runNumber: pedestalRun.runNumber,
        md5: map.md5 ?? '',
        url: await this.store.presign(map.objectKey!, ttl),
      },
      inputs: await Promise.all(
        files.map(async (file) => ({
          fileId: file.id,
          name: file.name,
          sizeBytes: file.sizeBytes,
          url: await this.store.presign(file.objectKey!, ttl),
        })),
      ),
      events: events.map((e) => [e.id, e.fileId, e.fileOffset, e.serial, e.sizeBytes]),
      uploads: {
        clusters: await this.store.presignUpload(staging.clusters, ttl),
        results: await this.store.presignUpload(staging.results, ttl),
      },
    };
  }

  async heartbeat(jobId: number, token: string | undefined, progress: number) {
    const job = await this.authenticate(jobId, token);
    return this.queue.heartbeat(job, this.workerOf(job), progress);
  }

  /** The attempt gave up: its job's failed attempt (retried with the usual backoff). */
  async fail(jobId: number, token: string | undefined, message: string): Promise<Job> {
    const job = await this.authenticate(jobId, token);
    const failed = await this.queue.fail(
      job,
      this.workerOf(job),
      new Error(`batch attempt: ${message}`),
    );
    await this.revoke(jobId);
    return failed;
  }

  /** Imports the attempt's results and settles the job, all in one transaction. */
  async complete(
    jobId: number,
    token: string | undefined,
    completion: BatchCompletion,
  ): Promise<Job> {
    const startedAt = new Date();
    const job = await this.authenticate(jobId, token);
    if (job.state !== JobState.RUNNING || job.leaseOwner !== this.workerOf(job))
      throw new ConflictError(`job ${jobId} is not held by this attempt`);
    const run = await this.db.manager.findOneByOrFail(Run, { id: job.runId! });
    const staging = this.stagingKeys(job);
    const resultBytes = await this.staged(staging.results, completion.results);
    const arrowBytes = await this.staged(staging.clusters, completion.clusters);
    let results: BatchResults;
    try {
      results = decodeBatchResults(resultBytes);
    } catch (error) {
      throw new ConflictError(
        `job ${jobId}: the results file cannot be read: ${(error as Error).message}`,
      );
    }
    if (
      results.jobId !== job.id ||
      results.attempt !== job.attempts ||
      results.version !== job.version
    )
      throw new ConflictError(
        `job ${jobId}: the results are of job ${results.jobId} attempt ${results.attempt} version ${results.version}, not attempt ${job.attempts} version ${job.version}`,
      );
    const serials = new Map(
      (
        await readRows(
          this.db.manager
            .createQueryBuilder(Event, 'event')
            .where('event.runId = :runId', { runId: run.id }),
          ['id', 'serial'],
        )
      ).map((e) => [e.id, e.serial]),
    );
    const current = isCurrentVersion(run, job);
    const summary = new RunSummary();
    const table = new ClusterTable();
    const rows: EventResult[] = [];
    for (const event of results.events) {
      if (serials.get(event.id) !== event.serial)
        throw new ConflictError(
          `job ${jobId}: event ${event.id} (serial ${event.serial}) is not an event of run ${run.runNumber}`,
        );
      const clusters = event.clusters.map(clusterOfRow);
      summary.add(event.summary, clusters, event.time);
      table.add({ run: run.runNumber, event: event.serial }, clusters);
      rows.push({ eventId: event.id, summary: event.summary, clusters });
    }
    results.badImages.forEach(() => summary.addBadImage());
    const key = derivedKey(
      this.options.site,
      'reco',
      run.runNumber,
      `_v${job.version}_clusters.arrow`,
    );
    await this.store.put(key, Readable.from([arrowBytes]), arrowBytes.length);
    const files = await storedRawFiles(this.db, run.id);
    const pedestalRun = await this.db.manager.findOneBy(Run, {
      runNumber: results.pedestal.runNumber,
    });
    const metrics = {
      ...summary.metrics({ source: isSourceRun(run), fe55: this.options.fe55 }),
      pedestalRun: results.pedestal.runNumber,
    };
    const outcome = finishReconstruction(
      { runs: this.runs, dq: this.dq },
      {
        run,
        version: job.version,
        current,
        output: {
          kind: FileKind.RECO,
          bucket: this.store.bucket,
          objectKey: key,
          sizeBytes: arrowBytes.length,
          md5: completion.clusters.md5,
        },
        metrics,
        setBy: 'reconstruction',
        result: {
          clustersFile: key,
          ...metrics,
          clusters: table.length,
          badImages: results.badImages.slice(0, 5),
          batch: { system: this.options.system, batchId: job.batchId },
        },
        provenance: {
          kind: JobKind.RECONSTRUCT,
          version: job.version,
          parameters: {
            ...jobParameters(job, this.options.parameters),
            cameraBank: this.options.cameraBank,
          },
          pedestal: {
            runNumber: pedestalRun?.runNumber ?? results.pedestal.runNumber,
            md5: results.pedestal.md5,
          },
          inputs: files.map(provenanceFile),
          executor: {
            ...results.executor,
            jobId: job.id,
            attempt: job.attempts,
            batchSystem: this.options.system,
            batchId: job.batchId,
          },
          startedAt: job.startedAt ?? startedAt,
        },
      },
    );
    const done = await this.queue.complete(
      job,
      this.workerOf(job),
      outcome.result ?? null,
      async (manager) => {
        await clearResults(manager, run.id, job.version);
        for (let i = 0; i < rows.length; i += WRITE_BATCH)
          await writeResults(manager, run.id, job.version, rows.slice(i, i + WRITE_BATCH), current);
        await outcome.commit?.(manager);
        await manager.update(Job, job.id, {
          batchTokenHash: null,
          batchTokenExpiresAt: null,
          batchState: 'COMPLETED',
        });
      },
    );
    await outcome.afterCommit?.();
    await Promise.all([
      this.store.delete(staging.results),
      this.store.delete(staging.clusters),
    ]).catch((error) =>
      this.log.warn({ err: error, jobId }, 'could not delete the staged batch outputs'),
    );
    return done;
  }

  /** A staged upload, checked against what the attempt says it sent. */
  private async staged(key: string, expected: { sizeBytes: number; md5: string }): Promise<Buffer> {
    const info = await this.store.stat(key);
    if (!info) throw new ConflictError(`${key} was not uploaded`);
    const bytes = await readObject(this.store, key);
    const md5 = createHash('md5').update(bytes).digest('hex');
    if (bytes.length !== expected.sizeBytes || md5 !== expected.md5)
      throw new ConflictError(
        `${key}: ${bytes.length} bytes with md5 ${md5} stored, ${expected.sizeBytes} with ${expected.md5} sent`,
      );
    return bytes;
  }

  /** Where an attempt uploads: its own keys, so that a late attempt overwrites nothing kept. */
  private stagingKeys(job: Job) {
    const prefix = `${this.options.site}/batch/job${job.id}/attempt${job.attempts}`;
    return { clusters: `${prefix}/clusters.arrow`, results: `${prefix}/results.json.gz` };
  }

  private workerOf(job: Job): string {
    if (!job.batchId) throw new NotFoundError('batch attempt of job', job.id);
    return batchLeaseOwner(job.batchId, 'claimed');
  }

  private async revoke(jobId: number): Promise<void> {
    await this.db.write((m) =>
      m.update(Job, jobId, { batchTokenHash: null, batchTokenExpiresAt: null }),
    );
  }
}
