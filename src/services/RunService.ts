import { readRows } from '../db/readRows';
import path from 'node:path';
import type { EntityManager } from 'typeorm';
import type { Principal } from '../auth/roles';
import { isUniqueViolation, type Database } from '../db/Database';
import { DataFile } from '../entities/DataFile';
import type { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { ConflictError } from '../errors';
import type { JobQueue } from '../jobs/JobQueue';
import { jobSubject } from '../jobs/subjects';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import { FileKind, JobKind, LocalState, RunOrder, RunState } from '../schema/enums';
import type {
  CloseRunInput,
  DeclaredFileInput,
  RunFilter,
  StartRunInput,
} from '../schema/runInputs';
import { resolveBufferPath } from './bufferPaths';
import { applyRunFilter } from './queryFilters';
import { paginate, type ListOptions, type Page, type PageArgs, type SortKey } from './pagination';
import { normaliseRunType, runTypeFromDescription } from './runType';

const SORTS: Record<RunOrder, SortKey<Run>> = {
  [RunOrder.RUN_NUMBER_DESC]: {
    column: 'run.runNumber',
    columns: ['runNumber'],
    direction: 'DESC',
    valueOf: (r) => r.runNumber,
  },
  [RunOrder.RUN_NUMBER_ASC]: {
    column: 'run.runNumber',
    columns: ['runNumber'],
    direction: 'ASC',
    valueOf: (r) => r.runNumber,
  },
  [RunOrder.STARTED_AT_DESC]: startedAtSort('DESC'),
  [RunOrder.STARTED_AT_ASC]: startedAtSort('ASC'),
};

// Runs whose start was missed have no startedAt; they sort by when the gateway first saw them.
function startedAtSort(direction: 'ASC' | 'DESC'): SortKey<Run> {
  return {
    column: 'COALESCE(run.startedAt, run.createdAt)',
    columns: ['startedAt', 'createdAt'],
    direction,
    valueOf: (r) => new Date(r.startedAt ?? r.createdAt).toISOString(),
    parse: (value) => new Date(String(value)),
  };
}

export interface RunServiceOptions {
  daqBufferDir: string;
  maxPageSize: number;
}

/** Runs: the DAQ's start and close, listing with filters, and the run-level change events. */
export class RunService {
  private readonly log = logger('runs');

  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly pubsub: PubSub,
    private readonly options: RunServiceOptions,
  ) {}

  findByNumber(runNumber: number): Promise<Run | null> {
    return this.db.manager.findOneBy(Run, { runNumber });
  }

  async byIds(ids: readonly number[], columns?: readonly string[]): Promise<Run[]> {
    if (ids.length === 0) return [];
    return readRows(
      this.db.manager.createQueryBuilder(Run, 'run').where('run.id IN (:...ids)', { ids }),
      columns,
    );
  }

  list(
    filter: RunFilter | null | undefined,
    order: RunOrder,
    page: PageArgs,
    options: ListOptions,
  ): Promise<Page<Run>> {
    const query = this.db.manager.createQueryBuilder(Run, 'run');
    applyRunFilter(query, filter);
    return paginate(query, SORTS[order], page, {
      maxPageSize: this.options.maxPageSize,
      ...options,
    });
  }

  /** Records a run start. Idempotent: a repeated start returns the run as it is. */
  async start(input: StartRunInput, principal: Principal): Promise<Run> {
    const { run, changed } = await this.withRetryOnDuplicate(() =>
      this.db.transaction(async (manager) => {
        const existing = await manager.findOneBy(Run, { runNumber: input.runNumber });
        if (existing)
          return {
            run: await this.fillMissedStart(manager, existing, input),
            changed: existing.startMissed && !existing.startedAt,
          };
        const description = input.description ?? null;
        const created = manager.create(Run, {
          runNumber: input.runNumber,
          state: RunState.RUNNING,
          startedAt: input.startedAt ?? new Date(),
          description,
          runType: normaliseRunType(input.runType) ?? runTypeFromDescription(description),
          pedestal: input.pedestal ?? false,
          attributes: input.attributes ?? {},
        });
        await manager.insert(Run, created);
        return { run: await manager.findOneByOrFail(Run, { id: created.id }), changed: true };
      }),
    );
    if (changed) {
      this.log.info({ runNumber: run.runNumber, by: principal.name }, 'run started');
      this.pubsub.publish(Topic.RunUpdated, run);
    }
    return run;
  }

  /** A late startRun for a run first seen through closeRun fills in what the close lacked. */
  private async fillMissedStart(
    manager: EntityManager,
    run: Run,
    input: StartRunInput,
  ): Promise<Run> {
    if (!run.startMissed || run.startedAt) return run;
    const description = run.description ?? input.description ?? null;
    await manager.update(Run, run.id, {
      startedAt: input.startedAt ?? null,
      description,
      runType:
        run.runType ?? normaliseRunType(input.runType) ?? runTypeFromDescription(description),
      pedestal: run.pedestal || Boolean(input.pedestal),
      attributes: { ...(input.attributes ?? {}), ...run.attributes },
    });
    return manager.findOneByOrFail(Run, { id: run.id });
  }

  /**
   * Closes a run, registers its files and creates its INGEST job in the same transaction, so a
   * crash can lose neither. Idempotent: closing a closed run with the same files returns it and
   * creates nothing; different files are a CONFLICT rather than silently ignored.
   */
  async close(input: CloseRunInput, principal: Principal): Promise<Run> {
    const declared = (input.files ?? []).map((file, index) => this.declaredFile(file, index));
    const names = declared.map((file) => file.name);
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate) throw new ConflictError(`files: "${duplicate}" is declared twice`);

    const { run, jobs } = await this.withRetryOnDuplicate(() =>
      this.db.transaction(async (manager) => {
        const existing = await manager.findOneBy(Run, { runNumber: input.runNumber });
        if (existing?.state === RunState.CLOSED) {
          await this.assertSameFiles(manager, existing, names);
          return { run: existing, jobs: [] as Job[] };
        }
        const runId = existing
          ? await this.markClosed(manager, existing, input)
          : await this.insertClosedRun(manager, input);
        if (declared.length > 0) {
          await manager.insert(
            DataFile,
            declared.map((file) => ({
              ...file,
              runId,
              kind: FileKind.RAW,
              localState: LocalState.EXPECTED,
            })),
          );
        }
        const { job, created } = await this.queue.enqueue(manager, {
          kind: JobKind.INGEST,
          subject: jobSubject.run(input.runNumber), // one INGEST per run, however often closed
          runId,
          runNumber: input.runNumber,
        });
        return {
          run: await manager.findOneByOrFail(Run, { id: runId }),
          jobs: created ? [job] : [],
        };
      }),
    );
    if (jobs.length > 0) {
      this.log.info(
        {
          runNumber: run.runNumber,
          files: names,
          by: principal.name,
          startMissed: run.startMissed,
        },
        'run closed',
      );
      this.pubsub.publish(Topic.RunUpdated, run);
      this.queue.announce(jobs);
    }
    return run;
  }

  /** Publishes the run's current state (after a job changed something about it). */
  async publish(runId: number): Promise<void> {
    const run = await this.db.manager.findOneBy(Run, { id: runId });
    if (run) this.pubsub.publish(Topic.RunUpdated, run);
  }

  private declaredFile(file: DeclaredFileInput, index: number) {
    const localPath = resolveBufferPath(
      this.options.daqBufferDir,
      file.path,
      `files[${index}].path`,
    );
    return {
      name: path.basename(localPath),
      localPath,
      sizeBytes: file.sizeBytes ?? null,
      declaredMd5: file.md5?.toLowerCase() ?? null,
    };
  }

  private async markClosed(
    manager: EntityManager,
    run: Run,
    input: CloseRunInput,
  ): Promise<number> {
    await manager.update(Run, run.id, {
      state: RunState.CLOSED,
      stoppedAt: input.stoppedAt ?? new Date(),
      eventCount: input.eventCount ?? run.eventCount,
      description: input.description ?? run.description,
      exposureSeconds: exposure(run.startedAt, input.stoppedAt ?? new Date()),
      attributes: { ...run.attributes, ...(input.attributes ?? {}) },
    });
    return run.id;
  }

  private async insertClosedRun(manager: EntityManager, input: CloseRunInput): Promise<number> {
    const description = input.description ?? null;
    const run = manager.create(Run, {
      runNumber: input.runNumber,
      state: RunState.CLOSED,
      startMissed: true,
      startedAt: null,
      stoppedAt: input.stoppedAt ?? new Date(),
      eventCount: input.eventCount ?? null,
      description,
      runType: runTypeFromDescription(description),
      attributes: input.attributes ?? {},
    });
    await manager.insert(Run, run);
    return run.id;
  }

  private async assertSameFiles(manager: EntityManager, run: Run, names: string[]): Promise<void> {
    const known = (
      await manager.find(DataFile, {
        where: { runId: run.id, kind: FileKind.RAW },
        select: { name: true },
      })
    ).map((f) => f.name);
    // Both ways: a repeated close may neither add a file nor leave one out.
    const added = names.filter((name) => !known.includes(name));
    const missing = known.filter((name) => !names.includes(name));
    if (added.length > 0 || missing.length > 0) {
      const changes = [
        ...(added.length ? [`adds ${added.join(', ')}`] : []),
        ...(missing.length ? [`leaves out ${missing.join(', ')}`] : []),
      ];
      throw new ConflictError(
        `run ${run.runNumber} is already closed with ${known.length} file(s); this close ${changes.join(' and ')}, but the declared files of a closed run cannot change`,
      );
    }
  }

  /** Two concurrent requests for the same natural key: the loser retries and sees the winner's row. */
  private async withRetryOnDuplicate<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      return fn();
    }
  }
}

function exposure(startedAt: Date | null, stoppedAt: Date): number | null {
  return startedAt
    ? Math.max(0, (stoppedAt.getTime() - new Date(startedAt).getTime()) / 1000)
    : null;
}
