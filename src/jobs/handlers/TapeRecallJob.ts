import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import type { Database } from '../../db/Database';
import { DataFile } from '../../entities/DataFile';
import { TapeCopy } from '../../entities/TapeCopy';
import { JobKind, LocalState, ReplicaState, Severity, TapeState } from '../../schema/enums';
import type { AlarmService } from '../../services/AlarmService';
import type { RunService } from '../../services/RunService';
import { TapeService } from '../../services/TapeService';
import type { ObjectStore } from '../../storage/ObjectStore';
import type { TapeStore } from '../../tape';
import { HashingStream } from '../../tape/checksumStream';
import { logger } from '../../logger';
import { PermanentJobError } from '../errors';
import type { JobContext, JobHandler, JobOutcome } from '../registry';
import { tapeJobSubject, updateTapeCopy } from './tapeFiles';

const log = logger('tape');

/**
 * TAPE_RECALL: tape → object store for a file whose cloud copy is gone. The bytes are hashed on
 * the way (MD5 and adler32) and must equal what ingestion measured; the stored object is checked
 * too. Only then is the file AVAILABLE again. Tape bytes that differ condemn the tape copy (BAD,
 * an alarm, copied again where a verified copy remains); a failure of the store is retried.
 */
export class TapeRecallJob implements JobHandler {
  readonly kind = JobKind.TAPE_RECALL;

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly tape: TapeStore | null,
    private readonly runs: RunService,
    private readonly tapes: TapeService,
    private readonly alarms: AlarmService,
  ) {}

  async run(context: JobContext): Promise<JobOutcome> {
    const { file, copy, tape } = await tapeJobSubject(this.db, this.tape, context);
    if (copy.state !== TapeState.ON_TAPE && copy.state !== TapeState.RECALLING)
      throw new PermanentJobError(`${file.name}: no verified tape copy to recall (${copy.state})`);
    if (!file.objectKey || file.sizeBytes == null || !file.md5 || !file.adler32)
      throw new PermanentJobError(`${file.name}: no object key or checksums recorded`);

    await updateTapeCopy(
      { db: this.db, runs: this.runs },
      copy,
      { state: TapeState.RECALLING },
      file.runId,
    );
    let corrupt: string[] = [];
    try {
      const hashing = new HashingStream();
      const body = new PassThrough();
      const upload = this.store.put(file.objectKey, body, file.sizeBytes);
      await Promise.all([
        pipeline(await tape.get(TapeService.pathOf(file)), hashing, body),
        upload,
      ]);
      corrupt = differences(hashing.digests(), file);
      const stored = await this.store.stat(file.objectKey);
      if (corrupt.length > 0 || stored?.size !== file.sizeBytes) {
        await this.store.delete(file.objectKey);
        const problems = corrupt.length > 0 ? corrupt : [`stored object has ${stored?.size} bytes`];
        throw new Error(`${file.name}: recalled copy rejected: ${problems.join('; ')}`);
      }
    } catch (error) {
      if (corrupt.length > 0) await this.condemn(file, copy, (error as Error).message);
      await updateTapeCopy(
        { db: this.db, runs: this.runs },
        copy,
        { state: corrupt.length > 0 ? TapeState.BAD : TapeState.ON_TAPE },
        file.runId,
      );
      if (corrupt.length > 0) {
        // The recall fails either way; a copy not queued is said, and the alarm stays open.
        await this.tapes
          .copyAgain(file.id)
          .catch((queueing: Error) =>
            log.error({ err: queueing, fileId: file.id }, 'could not queue the tape copy again'),
          );
        throw new PermanentJobError((error as Error).message);
      }
      throw error;
    }
    return {
      result: { key: file.objectKey },
      commit: async (manager) => {
        await manager.update(DataFile, file.id, { cloudState: ReplicaState.AVAILABLE });
        await manager.update(TapeCopy, copy.id, { state: TapeState.ON_TAPE });
      },
      afterCommit: () => this.runs.publish(file.runId),
    };
  }

  /**
   * The tape holds other bytes than ingestion measured: the copy is never a replica again. An
   * alarm says so and whether a verified copy remains to copy it again from (the TAPE_COPY job,
   * queued by the caller once the copy is marked BAD, takes the cloud copy or the buffer's).
   */
  private async condemn(file: DataFile, copy: TapeCopy, problem: string): Promise<void> {
    const source =
      file.cloudState === ReplicaState.AVAILABLE
        ? 'the cloud copy'
        : file.localState === LocalState.PRESENT
          ? 'the buffer'
          : null;
    await this.alarms.raise({
      fingerprint: `tape-copy-bad:${file.id}`,
      name: 'Tape copy corrupt',
      severity: Severity.CRITICAL,
      source: 'tape',
      message: `${file.name}: the tape copy is corrupt (${problem}); ${
        source
          ? `copied again from ${source}`
          : 'no other verified copy remains: recover it by hand'
      }`,
      labels: { file: file.name, runId: String(file.runId), url: copy.url ?? '' },
    });
  }
}

/** How bytes read back differ from what ingestion measured (empty when they do not). */
function differences(
  got: { size: number; md5: string; adler32: string },
  file: DataFile,
): string[] {
  const problems: string[] = [];
  if (got.size !== file.sizeBytes) problems.push(`${got.size} bytes, ${file.sizeBytes} expected`);
  if (got.md5 !== file.md5) problems.push(`MD5 ${got.md5}, ${file.md5} expected`);
  if (got.adler32 !== file.adler32)
    problems.push(`adler32 ${got.adler32}, ${file.adler32} expected`);
  return problems;
}
