import { In, type EntityManager } from 'typeorm';
import type { Database } from '../db/Database';
import { DataFile } from '../entities/DataFile';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { TapeCopy } from '../entities/TapeCopy';
import { ConflictError, NotFoundError } from '../errors';
import type { JobQueue } from '../jobs/JobQueue';
import { jobSubject } from '../jobs/subjects';
import { FileKind, JobKind, JobState, TapeState } from '../schema/enums';
import type { TapeStore } from '../tape';

/** Tape copies as the pipeline and the API see them: queueing copies and recalls. */
export class TapeService {
  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    readonly tape: TapeStore | null,
  ) {}

  /** A file's path on tape: the same layout as its object key (CYGNO's LNGS/run%05d.mid.gz). */
  static pathOf(file: Pick<DataFile, 'objectKey' | 'name'>): string {
    return file.objectKey ?? file.name;
  }

  /**
   * Queues the tape copy of a freshly ingested raw file, inside the caller's transaction; does
   * nothing when no tape is configured (TAPE_URL=none).
   */
  async enqueueCopy(
    manager: EntityManager,
    file: DataFile,
    runNumber: number,
  ): Promise<Job | null> {
    if (!this.tape) return null;
    const endpoint = this.tape.endpoint;
    const existing = await manager.findOneBy(TapeCopy, { fileId: file.id, endpoint });
    if (!existing) {
      await manager.insert(TapeCopy, {
        fileId: file.id,
        endpoint,
        url: this.tape.urlFor(TapeService.pathOf(file)),
        state: TapeState.QUEUED,
      });
    }
    const { job } = await this.queue.enqueue(manager, {
      kind: JobKind.TAPE_COPY,
      subject: jobSubject.file(file.id),
      runId: file.runId,
      runNumber,
      payload: { fileId: file.id },
    });
    return job;
  }

  /** `requestRecall`: queues tape → object store for a file whose cloud copy is gone. */
  async requestRecall(fileId: number): Promise<TapeCopy> {
    if (!this.tape) throw new ConflictError('no tape endpoint is configured (TAPE_URL=none)');
    const { copy, job, created } = await this.db.transaction(async (manager) => {
      const file = await manager.findOneBy(DataFile, { id: fileId });
      if (!file) throw new NotFoundError('file', fileId);
      if (file.kind !== FileKind.RAW) throw new ConflictError(`file ${fileId} is not a raw file`);
      const copy = await manager.findOneBy(TapeCopy, {
        fileId,
        endpoint: this.tape!.endpoint,
        state: In([TapeState.ON_TAPE, TapeState.RECALLING]),
      });
      if (!copy) throw new ConflictError(`file ${fileId} has no verified copy on tape to recall`);
      const { job, created } = await this.queue.enqueue(manager, {
        kind: JobKind.TAPE_RECALL,
        subject: jobSubject.file(fileId),
        runId: file.runId,
        payload: { fileId },
      });
      return { copy, job, created };
    });
    await this.startOrRerun(job, created); // recalled before: recall again
    return copy;
  }

  /**
   * Queues a file's tape copy again (its copy on tape was found corrupt): a TAPE_COPY job that
   * finished before runs again.
   */
  async copyAgain(fileId: number): Promise<void> {
    const { job, created } = await this.db.transaction(async (manager) => {
      const file = await manager.findOneByOrFail(DataFile, { id: fileId });
      const run = await manager.findOneByOrFail(Run, { id: file.runId });
      return this.queue.enqueue(manager, {
        kind: JobKind.TAPE_COPY,
        subject: jobSubject.file(fileId),
        runId: file.runId,
        runNumber: run.runNumber,
        payload: { fileId },
      });
    });
    await this.startOrRerun(job, created);
  }

  private async startOrRerun(job: Job, created: boolean): Promise<void> {
    if (created) this.queue.announce([job]);
    else if ([JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED].includes(job.state))
      await this.queue.rerun(job.id);
  }

  async copiesOf(fileId: number): Promise<TapeCopy[]> {
    return this.db.manager.findBy(TapeCopy, { fileId });
  }
}
