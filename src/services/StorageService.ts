import type { Database } from '../db/Database';
import { DataFile } from '../entities/DataFile';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { TapeCopy } from '../entities/TapeCopy';
import { FileKind, JobKind, JobState, ReplicaState, RunState, TapeState } from '../schema/enums';

export interface LocationCount {
  location: 'BUFFER' | 'CLOUD' | 'TAPE';
  state: string;
  files: number;
  bytes: number;
}

export interface Backlog {
  kind: JobKind;
  /** Runs with a job of this kind queued or running. */
  runs: number;
  /** Jobs of this kind that failed for good (they wait for a person). */
  failed: number;
}

/** The data replica dashboard: where the bytes are, what waits, what is late. */
export class StorageService {
  constructor(private readonly db: Database) {}

  async locations(): Promise<LocationCount[]> {
    const m = this.db.manager;
    const byState = async (
      location: LocationCount['location'],
      rows: Array<{ state: string | null; files: string | number; bytes: string | number | null }>,
    ) =>
      rows
        .filter((r) => r.state != null)
        .map((r) => ({
          location,
          state: r.state!,
          files: Number(r.files),
          bytes: Number(r.bytes ?? 0),
        }));
    const files = (column: 'localState' | 'cloudState') =>
      m
        .createQueryBuilder(DataFile, 'file')
        .select(`file.${column}`, 'state')
        .addSelect('COUNT(*)', 'files')
        .addSelect('SUM(file.sizeBytes)', 'bytes')
        .where('file.kind = :raw', { raw: FileKind.RAW })
        .groupBy(`file.${column}`)
        .getRawMany();
    const tape = await m
      .createQueryBuilder(TapeCopy, 'copy')
      .innerJoin(DataFile, 'file', 'file.id = copy.fileId')
      .select('copy.state', 'state')
      .addSelect('COUNT(*)', 'files')
      .addSelect('SUM(file.sizeBytes)', 'bytes')
      .groupBy('copy.state')
      .getRawMany();
    return [
      ...(await byState('BUFFER', await files('localState'))),
      ...(await byState('CLOUD', await files('cloudState'))),
      ...(await byState('TAPE', tape)),
    ];
  }

  /** Files and bytes available on the cloud store, by kind: raw against reduced, and the rest. */
  async cloudByKind(): Promise<Array<{ kind: FileKind; files: number; bytes: number }>> {
    const rows: Array<{ kind: FileKind; files: string | number; bytes: string | number | null }> =
      await this.db.manager
        .createQueryBuilder(DataFile, 'file')
        .select('file.kind', 'kind')
        .addSelect('COUNT(*)', 'files')
        .addSelect('SUM(file.sizeBytes)', 'bytes')
        .where('file.cloudState = :available', { available: ReplicaState.AVAILABLE })
        .groupBy('file.kind')
        .orderBy('file.kind', 'ASC')
        .getRawMany();
    return rows.map((r) => ({ kind: r.kind, files: Number(r.files), bytes: Number(r.bytes ?? 0) }));
  }

  async backlog(): Promise<Backlog[]> {
    const rows: Array<{
      kind: JobKind;
      state: JobState;
      runs: string | number;
      jobs: string | number;
    }> = await this.db.manager
      .createQueryBuilder(Job, 'job')
      .select('job.kind', 'kind')
      .addSelect('job.state', 'state')
      .addSelect('COUNT(DISTINCT job.runId)', 'runs')
      .addSelect('COUNT(*)', 'jobs')
      .where('job.state IN (:...states)', {
        states: [JobState.QUEUED, JobState.RUNNING, JobState.FAILED],
      })
      .groupBy('job.kind')
      .addGroupBy('job.state')
      .getRawMany();
    return Object.values(JobKind).map((kind) => {
      const mine = rows.filter((r) => r.kind === kind);
      return {
        kind,
        runs: mine
          .filter((r) => r.state !== JobState.FAILED)
          .reduce((n, r) => n + Number(r.runs), 0),
        failed: mine
          .filter((r) => r.state === JobState.FAILED)
          .reduce((n, r) => n + Number(r.jobs), 0),
      };
    });
  }

  /** The oldest closed run with a raw file not verified on tape (the custodial lag). */
  async oldestRunNotOnTape(): Promise<Run | null> {
    return this.db.manager
      .createQueryBuilder(Run, 'run')
      .innerJoin(DataFile, 'file', 'file.runId = run.id AND file.kind = :raw', {
        raw: FileKind.RAW,
      })
      .leftJoin(TapeCopy, 'copy', 'copy.fileId = file.id AND copy.state = :onTape', {
        onTape: TapeState.ON_TAPE,
      })
      .where('run.state = :closed', { closed: RunState.CLOSED })
      .andWhere('copy.id IS NULL')
      .orderBy('run.runNumber', 'ASC')
      .getOne();
  }
}
