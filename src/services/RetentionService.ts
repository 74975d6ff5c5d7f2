import { In, type EntityManager } from 'typeorm';
import type { Database } from '../db/Database';
import { DataFile } from '../entities/DataFile';
import { FileDeletion } from '../entities/FileDeletion';
import { Run } from '../entities/Run';
import { TapeCopy } from '../entities/TapeCopy';
import { logger } from '../logger';
import { FileKind, LocalState, ReplicaState, TapeState } from '../schema/enums';
import type { ObjectStore } from '../storage/ObjectStore';
import type { TapeStore } from '../tape';
import { removeFromBuffer } from './bufferPaths';

export interface RetentionPolicy {
  /** off | after-cloud (verified cloud copy) | after-tape (verified cloud and tape copies). */
  buffer: 'off' | 'after-cloud' | 'after-tape';
  /** Cloud copies of raw files of runs older than this (days) go, when on tape; 0: never. */
  cloudDays: number;
  /**
   * when-reduced: the cloud copy of a raw file goes once its run's reduced file is on the
   * cloud store and the raw file's tape copy is verified (reconstructions then read the reduced
   * file; the raw bytes come back by recall). keep (default): not for that reason.
   */
  cloudRaw?: 'keep' | 'when-reduced';
  /** The DAQ buffer: buffer files are deleted only from inside it, never through a link. */
  bufferDir: string;
}

export interface RetentionCandidate {
  fileId: number;
  name: string;
  runNumber: number;
  location: 'BUFFER' | 'CLOUD';
  sizeBytes: number | null;
  reason: string;
}

const DAY_MS = 86_400_000;

/**
 * Frees space only where a verified replica remains (DESIGN §6): a buffer file once its cloud
 * copy is verified (and its tape copy, when the policy asks); a cloud copy of an old raw file
 * only when a verified tape copy exists. Every condition is checked again, row by row, in the
 * transaction that records the deletion; the bytes go only after that commit, so a crash can
 * leave a stray file behind but never a file without a replica.
 */
export class RetentionService {
  private readonly log = logger('retention');

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly tape: TapeStore | null,
    private readonly policy: RetentionPolicy,
  ) {}

  /** What the policy would free now, and why (`retention --dry-run`). */
  async plan(now = new Date()): Promise<RetentionCandidate[]> {
    return this.db.transaction((manager) => this.candidates(manager, now));
  }

  /** Frees what `plan` lists; returns what was freed. */
  async apply(deletedBy: string, now = new Date()): Promise<RetentionCandidate[]> {
    const freed = await this.db.transaction(async (manager) => {
      const candidates = await this.candidates(manager, now);
      for (const c of candidates) {
        await manager.update(
          DataFile,
          c.fileId,
          c.location === 'BUFFER'
            ? { localState: LocalState.DELETED }
            : { cloudState: ReplicaState.DELETED },
        );
        await manager.insert(FileDeletion, {
          fileId: c.fileId,
          location: c.location,
          reason: c.reason,
          deletedBy,
          deletedAt: now,
        });
      }
      return candidates;
    });
    for (const c of freed) {
      const file = await this.db.manager.findOneByOrFail(DataFile, { id: c.fileId });
      try {
        if (c.location === 'BUFFER') {
          const outcome = await removeFromBuffer(this.policy.bufferDir, file.localPath!);
          if (outcome === 'refused')
            this.log.error(
              { fileId: c.fileId },
              'not deleting a buffer path that now leads outside the DAQ buffer (a link)',
            );
        } else await this.store.delete(file.objectKey!);
      } catch (error) {
        // Recorded as freed: the bytes are garbage now, whoever removes them.
        this.log.warn(
          { err: error, fileId: c.fileId, location: c.location },
          'could not remove freed bytes',
        );
      }
      this.log.info(c, 'freed');
    }
    return freed;
  }

  private async candidates(manager: EntityManager, now: Date): Promise<RetentionCandidate[]> {
    const out: RetentionCandidate[] = [];
    const whenReduced = this.policy.cloudRaw === 'when-reduced';
    if (this.policy.buffer === 'off' && this.policy.cloudDays === 0 && !whenReduced) return out;
    const files = await manager.find(DataFile, {
      where: { kind: FileKind.RAW, cloudState: ReplicaState.AVAILABLE },
      order: { id: 'ASC' },
    });
    if (files.length === 0) return out;
    const runs = new Map(
      (await manager.findBy(Run, { id: In([...new Set(files.map((f) => f.runId))]) })).map((r) => [
        r.id,
        r,
      ]),
    );
    const onTape = new Map(
      this.tape
        ? (
            await manager.findBy(TapeCopy, {
              fileId: In(files.map((f) => f.id)),
              endpoint: this.tape.endpoint,
              state: TapeState.ON_TAPE,
            })
          ).map((c) => [c.fileId, c])
        : [],
    );
    const reducedByRun = new Map(
      whenReduced
        ? (
            await manager.findBy(DataFile, {
              runId: In([...runs.keys()]),
              kind: FileKind.REDUCED,
              cloudState: ReplicaState.AVAILABLE,
            })
          )
            .filter((reduced) => reduced.md5)
            .map((reduced) => [reduced.runId, reduced])
        : [],
    );
    const cutoff = new Date(now.getTime() - this.policy.cloudDays * DAY_MS);
    for (const file of files) {
      const run = runs.get(file.runId)!;
      const tape = onTape.get(file.id);
      const verifiedTape = tape?.verifiedAt && tape.verifiedChecksum;
      const base = {
        fileId: file.id,
        name: file.name,
        runNumber: run.runNumber,
        sizeBytes: file.sizeBytes,
      };
      const cloudWhy = `cloud copy verified at ingestion (md5 ${file.md5}, adler32 ${file.adler32})`;
      const tapeWhy = verifiedTape
        ? `tape copy verified ${tape.verifiedAt!.toISOString()} (${tape.verifiedChecksum}) at ${tape.endpoint}`
        : '';
      if (file.localState === LocalState.PRESENT && this.policy.buffer !== 'off') {
        if (this.policy.buffer === 'after-cloud')
          out.push({ ...base, location: 'BUFFER', reason: `buffer freed: ${cloudWhy}` });
        else if (verifiedTape)
          out.push({
            ...base,
            location: 'BUFFER',
            reason: `buffer freed: ${cloudWhy}; ${tapeWhy}`,
          });
      }
      const old = run.stoppedAt && run.stoppedAt < cutoff;
      const reduced = reducedByRun.get(file.runId);
      if (this.policy.cloudDays > 0 && old && verifiedTape) {
        out.push({
          ...base,
          location: 'CLOUD',
          reason: `cloud copy freed: run stopped ${run.stoppedAt!.toISOString()}, older than ${this.policy.cloudDays} days; ${tapeWhy}`,
        });
      } else if (reduced && verifiedTape) {
        out.push({
          ...base,
          location: 'CLOUD',
          reason: `cloud copy freed: the run's reduced file ${reduced.name} (md5 ${reduced.md5}) is on the cloud store; ${tapeWhy}`,
        });
      }
    }
    return out;
  }

  /** A file's deletion records, oldest first. */
  async deletionsOf(fileIds: readonly number[]): Promise<FileDeletion[]> {
    if (fileIds.length === 0) return [];
    return this.db.manager.find(FileDeletion, {
      where: { fileId: In([...fileIds]) },
      order: { deletedAt: 'ASC', id: 'ASC' },
    });
  }
}
