import type { EntityManager } from 'typeorm';
import type { Database } from '../db/Database';
import { readRows } from '../db/readRows';
import { Cluster } from '../entities/Cluster';
import { DataFile } from '../entities/DataFile';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { BadUserInputError, ConflictError, NotFoundError } from '../errors';
import type { JobQueue } from '../jobs/JobQueue';
import { jobSubject } from '../jobs/subjects';
import {
  FileKind,
  JobKind,
  JobState,
  RecoSource,
  RecoStatus,
  ReplicaState,
  RunState,
} from '../schema/enums';
import type { ClusterFilter } from '../schema/filters';
import type { RunService } from './RunService';
import { byId, paginate, type ListOptions, type Page, type PageArgs } from './pagination';
import {
  applyClusterFilter,
  applyClusterRunFilter,
  clusterFilterNeedsRun,
  currentVersionOf,
} from './queryFilters';

const BY_ID = byId<Cluster>('cluster', 'ASC');

/** Reconstruction as the API and the pipeline ask for it: which job, and the clusters. */
export class RecoService {
  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly runs: RunService,
    private readonly options: { maxPageSize: number; version: number },
  ) {}

  /** PEDESTAL for pedestal runs, RECONSTRUCT for the others. */
  static kindFor(run: Pick<Run, 'pedestal'>): JobKind {
    return run.pedestal ? JobKind.PEDESTAL : JobKind.RECONSTRUCT;
  }

  /**
   * Queues the run's reconstruction with the current parameter version, inside the caller's
   * transaction (INGEST's success commits it together with its own results).
   */
  async enqueue(manager: EntityManager, run: Run, source = RecoSource.RAW): Promise<Job> {
    const { job } = await this.queue.enqueue(manager, {
      kind: RecoService.kindFor(run),
      subject: jobSubject.run(run.runNumber),
      version: this.options.version,
      runId: run.id,
      runNumber: run.runNumber,
      payload: { source },
    });
    await manager.update(Run, run.id, { recoStatus: RecoStatus.QUEUED });
    return job;
  }

  /**
   * `reconstructRun`: queues the run with the current version, from its raw files or (`from:
   * REDUCED`) its reduced file. An existing job of that version is returned as it is — unless
   * `force`, or a different source, which runs a finished one again (its results for the
   * version are replaced; other versions' results stay).
   */
  async request(runNumber: number, force: boolean, from = RecoSource.RAW): Promise<Job> {
    const { job, created } = await this.db.transaction(async (manager) => {
      const run = await manager.findOneBy(Run, { runNumber });
      if (!run) throw new NotFoundError('run', runNumber);
      if (run.state !== RunState.CLOSED)
        throw new ConflictError(`run ${runNumber} is still running; close it first`);
      if (from === RecoSource.REDUCED && run.pedestal)
        throw new BadUserInputError(
          `run ${runNumber} is a pedestal run: its map is made from the raw images only`,
          'from',
        );
      const needed = from === RecoSource.REDUCED ? FileKind.REDUCED : FileKind.RAW;
      const stored = await manager.countBy(DataFile, {
        runId: run.id,
        kind: needed,
        cloudState: ReplicaState.AVAILABLE,
      });
      if (stored === 0)
        throw new ConflictError(
          from === RecoSource.REDUCED
            ? `run ${runNumber} has no reduced file in the object store; reconstruct it from its raw files first (with REDUCTION on)`
            : `run ${runNumber} has no raw file in the object store yet`,
        );
      const existing = await manager.findOneBy(Job, {
        kind: RecoService.kindFor(run),
        subject: jobSubject.run(runNumber),
        version: this.options.version,
      });
      if (existing) return { job: existing, created: false };
      return { job: await this.enqueue(manager, run, from), created: true };
    });
    if (created) {
      this.queue.announce([job]);
      await this.runs.publish(job.runId!);
      return job;
    }
    const finished = [JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(job.state);
    const sameSource = (job.payload?.source ?? RecoSource.RAW) === from;
    if (!finished || (!force && sameSource)) return job;
    const again = await this.queue.rerun(job.id, { ...job.payload, source: from });
    await this.db.write((m) => m.update(Run, job.runId!, { recoStatus: RecoStatus.QUEUED }));
    await this.runs.publish(job.runId!);
    return again;
  }

  async clustersOfEvents(
    eventIds: readonly number[],
    columns?: readonly string[],
  ): Promise<Cluster[]> {
    if (eventIds.length === 0) return [];
    return readRows(
      this.db.manager
        .createQueryBuilder(Cluster, 'cluster')
        .where('cluster.eventId IN (:...eventIds)', { eventIds })
        .andWhere(`cluster.recoVersion = ${currentVersionOf('cluster.runId')}`, {
          configuredVersion: this.options.version,
        })
        .orderBy('cluster.id', 'ASC'),
      columns ? [...new Set([...columns, 'eventId'])] : undefined,
    );
  }

  async clusters(
    filter: ClusterFilter,
    page: PageArgs,
    options: ListOptions,
  ): Promise<Page<Cluster>> {
    const query = this.db.manager.createQueryBuilder(Cluster, 'cluster');
    if (clusterFilterNeedsRun(filter)) {
      query.innerJoin(Run, 'run', 'run.id = cluster.runId');
      applyClusterRunFilter(query, filter);
    }
    applyClusterFilter(query, filter, this.options.version);
    return paginate(query, BY_ID, page, { maxPageSize: this.options.maxPageSize, ...options });
  }
}
