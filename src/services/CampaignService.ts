import { In, IsNull, type EntityManager } from 'typeorm';
import type { Principal } from '../auth/roles';
import { isUniqueViolation, type Database } from '../db/Database';
import { Campaign } from '../entities/Campaign';
import { DataFile } from '../entities/DataFile';
import { DqMetric } from '../entities/DqMetric';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { BadUserInputError, ConflictError, NotFoundError } from '../errors';
import { freshAttempts, type JobQueue } from '../jobs/JobQueue';
import { jobSubject } from '../jobs/subjects';
import { Topic, type PubSub } from '../pubsub';
import { recoParameters, type RecoParameters } from '../reco/image';
import type { CampaignProgress, ReprocessInput } from '../schema/campaignInputs';
import {
  CampaignState,
  FileKind,
  JobExecutor,
  JobKind,
  JobState,
  RecoSource,
  RecoStatus,
  ReplicaState,
  RunState,
} from '../schema/enums';
import type { RecordedAlarm } from './AlarmService';
import type { DqService } from './DqService';
import { applyRunFilter } from './queryFilters';
import { swapInSummaries } from './recoResults';
import type { RunService } from './RunService';

export interface CampaignOptions {
  /** The configured parameters (RECO_PARAMETERS), whose version is the online one. */
  parameters: RecoParameters;
  /** The batch system configured (BATCH), LOCAL when none: campaigns go there by default. */
  batchExecutor: JobExecutor;
  maxAttempts: number;
}

/** Unfinished job states: a campaign with any of these is still running. */
const UNFINISHED = [JobState.QUEUED, JobState.RUNNING];

/**
 * Reprocessing campaigns (issue 18): many runs reconstructed again under one version, on the
 * gateway's workers or a batch system, kept beside the current results until an admin
 * promotes the campaign — physicists never see a half-reprocessed dataset.
 */
export class CampaignService {
  /** Called with the running batch jobs of a cancelled campaign (the dispatcher cancels them). */
  onCancel: (jobs: Job[]) => void = () => undefined;

  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly pubsub: PubSub,
    private readonly runs: RunService,
    private readonly dq: DqService,
    private readonly options: CampaignOptions,
  ) {}

  list(): Promise<Campaign[]> {
    return this.db.manager.find(Campaign, { order: { id: 'DESC' } });
  }

  async get(id: number): Promise<Campaign> {
    const campaign = await this.db.manager.findOneBy(Campaign, { id });
    if (!campaign) throw new NotFoundError('campaign', id);
    return campaign;
  }

  /** The jobs of campaigns, one per run, in run order. */
  jobsOf(ids: readonly number[]): Promise<Job[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.db.manager.find(Job, {
      where: { campaignId: In([...ids]) },
      order: { runNumber: 'ASC' },
    });
  }

  /** The jobs of campaigns by state, in one query; in the order of `ids`. */
  async progressOf(ids: readonly number[]): Promise<CampaignProgress[]> {
    if (ids.length === 0) return [];
    const rows: Array<{ campaignId: number | string; state: JobState; n: number | string }> =
      await this.db.manager
        .createQueryBuilder(Job, 'job')
        .select('job.campaignId', 'campaignId')
        .addSelect('job.state', 'state')
        .addSelect('COUNT(*)', 'n')
        .where('job.campaignId IN (:...ids)', { ids })
        .groupBy('job.campaignId')
        .addGroupBy('job.state')
        .getRawMany();
    return ids.map((id) => {
      const count = (state: JobState) =>
        Number(rows.find((r) => Number(r.campaignId) === id && r.state === state)?.n ?? 0);
      const progress = {
        queued: count(JobState.QUEUED),
        running: count(JobState.RUNNING),
        done: count(JobState.SUCCEEDED),
        failed: count(JobState.FAILED),
        cancelled: count(JobState.CANCELLED),
      };
      const total = Object.values(progress).reduce((a, b) => a + b, 0);
      const finished = progress.done + progress.failed + progress.cancelled;
      return { ...progress, total, fraction: total === 0 ? 1 : finished / total };
    });
  }

  /** `reprocess`: the campaign and one RECONSTRUCT job per selected run, in one transaction. */
  async create(input: ReprocessInput, principal: Principal): Promise<Campaign> {
    const executor = input.executor ?? this.options.batchExecutor;
    if (executor !== JobExecutor.LOCAL && executor !== this.options.batchExecutor)
      throw new BadUserInputError(
        `executor ${executor} is not configured here (BATCH gives ${this.options.batchExecutor})`,
        'executor',
      );
    if ((input.parameters == null) === (input.version == null))
      throw new BadUserInputError(
        'give either parameters (a new version) or version',
        'parameters',
      );
    for (let attempt = 0; ; attempt++) {
      try {
        const { campaign, jobs } = await this.db.transaction((manager) =>
          this.createIn(manager, input, executor, principal),
        );
        this.queue.announce(jobs);
        this.pubsub.publish(Topic.CampaignUpdated, { campaignId: campaign.id });
        return campaign;
      } catch (error) {
        // Two campaigns asked for at once took the same new version: the unique index refused one.
        if (isUniqueViolation(error) && input.version == null && attempt < 5) continue;
        throw error;
      }
    }
  }

  private async createIn(
    manager: EntityManager,
    input: ReprocessInput,
    executor: JobExecutor,
    principal: Principal,
  ): Promise<{ campaign: Campaign; jobs: Job[] }> {
    const { version, parameters, isNew } = await this.versionFor(manager, input);
    const { runs, skipped } = await this.selectRuns(manager, input);
    if (runs.length === 0)
      throw new BadUserInputError(
        `no run to reprocess: the selection holds no closed data run with its raw files in the object store${skipped.length ? ` (${skipped.length} skipped, e.g. ${skipped[0].runNumber}: ${skipped[0].reason})` : ''}`,
        'runs',
      );
    const campaign = manager.create(Campaign, {
      description: input.description ?? null,
      createdBy: principal.name,
      version,
      newVersion: isNew ? version : null,
      parameters: { ...parameters },
      selection: { ...JSON.parse(JSON.stringify(input.runs)), skipped },
      runNumbers: runs.map((run) => run.runNumber),
      executor,
      cancelledAt: null,
      promotedAt: null,
      promotedBy: null,
    });
    await manager.insert(Campaign, campaign);
    const payload = {
      source: RecoSource.RAW,
      parameters: { ...parameters },
      campaignId: campaign.id,
    };
    const jobs: Job[] = [];
    for (const run of runs) {
      const spec = {
        kind: JobKind.RECONSTRUCT,
        subject: jobSubject.run(run.runNumber),
        version,
        runId: run.id,
        runNumber: run.runNumber,
        payload,
        executor,
        campaignId: campaign.id,
        maxAttempts: this.options.maxAttempts,
      };
      const { job, created } = await this.queue.enqueue(manager, spec);
      jobs.push(created ? job : await this.takeOver(manager, job, spec));
    }
    return { campaign, jobs };
  }

  /** A finished job of the same run and version joins the campaign and is queued again. */
  private async takeOver(
    manager: EntityManager,
    job: Job,
    spec: { payload: Job['payload']; executor: JobExecutor; campaignId: number },
  ): Promise<Job> {
    const update = await manager
      .createQueryBuilder()
      .update(Job)
      .set({ ...spec, ...freshAttempts(), batchId: null, batchState: null })
      .where('id = :id AND state NOT IN (:...unfinished)', { id: job.id, unfinished: UNFINISHED })
      .execute();
    if (update.affected !== 1)
      throw new ConflictError(
        `run ${job.runNumber} is being reconstructed at version ${job.version} (job ${job.id}); wait for it or cancel it`,
      );
    return manager.findOneByOrFail(Job, { id: job.id });
  }

  /** A new version for new parameters (above every version in use), or an existing one's. */
  private async versionFor(
    manager: EntityManager,
    input: ReprocessInput,
  ): Promise<{ version: number; parameters: RecoParameters; isNew: boolean }> {
    const configured = this.options.parameters;
    if (input.version != null) {
      if (input.version === configured.version)
        return { version: configured.version, parameters: configured, isNew: false };
      const earlier = await manager.findOneBy(Campaign, { newVersion: input.version });
      if (!earlier)
        throw new BadUserInputError(
          `version ${input.version} is neither the configured one (${configured.version}) nor a campaign's`,
          'version',
        );
      return {
        version: input.version,
        parameters: earlier.parameters as RecoParameters,
        isNew: false,
      };
    }
    const [{ jobs }] = await manager.query('SELECT MAX(version) AS jobs FROM jobs WHERE kind = ?', [
      JobKind.RECONSTRUCT,
    ]);
    const [{ campaigns }] = await manager.query('SELECT MAX(version) AS campaigns FROM campaigns');
    const version = Math.max(configured.version, Number(jobs ?? 0), Number(campaigns ?? 0)) + 1;
    const checked = recoParameters({ ...configured, ...input.parameters, version });
    if ('problems' in checked)
      throw new BadUserInputError(`parameters: ${checked.problems.join('; ')}`, 'parameters');
    return { version, parameters: checked.parameters, isNew: true };
  }

  /** The closed data runs of the selection that have their raw files in the object store. */
  private async selectRuns(manager: EntityManager, input: ReprocessInput) {
    const { runNumbers, from, to, filter } = input.runs;
    if (runNumbers == null && from == null && to == null && filter == null)
      throw new BadUserInputError('select runs: runNumbers, from/to or filter', 'runs');
    const query = manager.createQueryBuilder(Run, 'run').orderBy('run.runNumber', 'ASC');
    if (runNumbers != null) {
      if (runNumbers.length === 0) throw new BadUserInputError('runNumbers is empty', 'runs');
      query.andWhere('run.runNumber IN (:...runNumbers)', { runNumbers });
    }
    if (from != null) query.andWhere('run.runNumber >= :from', { from });
    if (to != null) query.andWhere('run.runNumber <= :to', { to });
    applyRunFilter(query, filter);
    const selected = await query.getMany();
    const withRaw = new Set(
      (
        await manager.find(DataFile, {
          select: { runId: true },
          where: {
            runId: In(selected.length ? selected.map((r) => r.id) : [-1]),
            kind: FileKind.RAW,
            cloudState: ReplicaState.AVAILABLE,
          },
        })
      ).map((file) => file.runId),
    );
    const runs: Run[] = [];
    const skipped: Array<{ runNumber: number; reason: string }> = [];
    const found = new Set(selected.map((run) => run.runNumber));
    for (const runNumber of runNumbers ?? [])
      if (!found.has(runNumber)) skipped.push({ runNumber, reason: 'no such run' });
    for (const run of selected) {
      const reason = run.pedestal
        ? 'a pedestal run'
        : run.state !== RunState.CLOSED
          ? 'still running'
          : !withRaw.has(run.id)
            ? 'no raw file in the object store'
            : null;
      if (reason) skipped.push({ runNumber: run.runNumber, reason });
      else runs.push(run);
    }
    return { runs, skipped };
  }

  /** Cancels what has not finished: queued jobs at once, running ones (and their batch jobs). */
  async cancel(id: number): Promise<Campaign> {
    const campaign = await this.get(id);
    if (campaign.promotedAt) throw new ConflictError(`campaign ${id} is promoted already`);
    const running = await this.db.transaction(async (manager) => {
      await manager.update(Campaign, { id, cancelledAt: IsNull() }, { cancelledAt: new Date() });
      await manager
        .createQueryBuilder()
        .update(Job)
        .set({ state: JobState.CANCELLED, finishedAt: new Date() })
        .where('campaignId = :id AND state = :queued', { id, queued: JobState.QUEUED })
        .execute();
      await manager
        .createQueryBuilder()
        .update(Job)
        .set({ cancelRequested: true })
        .where('campaignId = :id AND state = :running', { id, running: JobState.RUNNING })
        .execute();
      return manager.findBy(Job, { campaignId: id, state: JobState.RUNNING });
    });
    await this.queue.publishCurrent({ campaignId: id });
    this.onCancel(running.filter((job) => job.executor !== JobExecutor.LOCAL));
    this.pubsub.publish(Topic.CampaignUpdated, { campaignId: id });
    return this.get(id);
  }

  /**
   * Makes the campaign's version the current one of its runs, all in one transaction: the
   * image summaries swapped in, the run's DQ flags and alarms judged on the version's metrics.
   * Only a campaign with nothing left to run; with runs that failed only when `partial`.
   */
  async promote(id: number, partial: boolean, principal: Principal): Promise<Campaign> {
    const promoted = await this.db.transaction(async (manager) => {
      const campaign = await manager.findOneBy(Campaign, { id });
      if (!campaign) throw new NotFoundError('campaign', id);
      const jobs = await manager.findBy(Job, { campaignId: id });
      const unfinished = jobs.filter((job) => UNFINISHED.includes(job.state));
      if (unfinished.length > 0)
        throw new ConflictError(
          `campaign ${id} still has ${unfinished.length} job(s) to finish (e.g. run ${unfinished[0].runNumber}); wait, or cancel it`,
        );
      const succeeded = jobs.filter((job) => job.state === JobState.SUCCEEDED);
      const others = jobs.length - succeeded.length;
      if (others > 0 && !partial)
        throw new ConflictError(
          `campaign ${id}: ${others} of ${jobs.length} run(s) did not succeed; retry them, or promote with partial: true to keep their current version`,
        );
      if (succeeded.length === 0) throw new ConflictError(`campaign ${id}: no run succeeded`);
      // Collected per attempt of the transaction: a retried one starts again from none.
      const alarms: RecordedAlarm[] = [];
      const claimed = await manager
        .createQueryBuilder()
        .update(Campaign)
        .set({ promotedAt: new Date(), promotedBy: principal.name })
        .where('id = :id AND promotedAt IS NULL', { id })
        .execute();
      if (claimed.affected !== 1) throw new ConflictError(`campaign ${id} is promoted already`);
      for (const job of succeeded) {
        const run = await manager.findOneByOrFail(Run, { id: job.runId! });
        const previous = run.recoVersion ?? this.options.parameters.version;
        await swapInSummaries(manager, run.id, campaign.version, previous);
        await manager.update(Run, run.id, {
          recoVersion: campaign.version,
          recoStatus: RecoStatus.DONE,
        });
        const metrics = await manager.findBy(DqMetric, {
          runId: run.id,
          recoVersion: campaign.version,
        });
        alarms.push(
          ...(await this.dq.record(
            manager,
            run,
            campaign.version,
            Object.fromEntries(metrics.map((m) => [m.name, m.value])),
            `promotion of campaign ${id}`,
          )),
        );
      }
      return { campaign, runIds: succeeded.map((job) => job.runId!), alarms };
    });
    for (const runId of promoted.runIds) await this.runs.publish(runId);
    this.dq.announce(promoted.alarms);
    this.pubsub.publish(Topic.CampaignUpdated, { campaignId: id });
    return this.get(id);
  }
}

/** RUNNING, COMPLETED, FAILED from its jobs; CANCELLED and PROMOTED from what an admin did. */
export function campaignState(
  campaign: Pick<Campaign, 'promotedAt' | 'cancelledAt'>,
  progress: CampaignProgress,
): CampaignState {
  if (campaign.promotedAt) return CampaignState.PROMOTED;
  if (progress.queued + progress.running > 0) return CampaignState.RUNNING;
  if (campaign.cancelledAt) return CampaignState.CANCELLED;
  return progress.failed + progress.cancelled > 0 ? CampaignState.FAILED : CampaignState.COMPLETED;
}
