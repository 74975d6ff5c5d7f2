import type { Database } from '../../db/Database';
import { TapeCopy } from '../../entities/TapeCopy';
import type { Readable } from 'node:stream';
import type { DataFile } from '../../entities/DataFile';
import { JobKind, LocalState, ReplicaState, Severity, TapeState } from '../../schema/enums';
import { openInBuffer } from '../../services/bufferPaths';
import type { AlarmService } from '../../services/AlarmService';
import type { RunService } from '../../services/RunService';
import { TapeService } from '../../services/TapeService';
import type { ObjectStore } from '../../storage/ObjectStore';
import { TapeAuthError, type TapeStore } from '../../tape';
import { adler32Of } from '../../tape/checksumStream';
import { DeferJobError, PermanentJobError } from '../errors';
import type { JobContext, JobHandler, JobOutcome } from '../registry';
import { tapeJobSubject, updateTapeCopy } from './tapeFiles';

/**
 * TAPE_COPY: a raw file's verified cloud copy (or, once that is gone, the buffer's) goes to
 * tape; the tape's size and adler32 (from the endpoint's Digest, or by reading the copy back)
 * must equal what ingestion measured, or the copy is deleted, marked FAILED and tried again —
 * it never counts as a replica unverified. After the last attempt an alarm goes out; a refused
 * token raises one at once and the copy waits for a new token without using up attempts.
 */
export class TapeCopyJob implements JobHandler {
  readonly kind = JobKind.TAPE_COPY;

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly tape: TapeStore | null,
    private readonly runs: RunService,
    private readonly alarms: AlarmService,
    private readonly bufferDir: string,
    /** How long a copy refused for its token waits before trying the (maybe renewed) token. */
    private readonly options: { tokenRetryMs: number },
  ) {}

  async run(context: JobContext): Promise<JobOutcome> {
    const { file, copy, tape } = await tapeJobSubject(this.db, this.tape, context);
    if (copy.state === TapeState.ON_TAPE) return { result: { alreadyOnTape: true } };
    if (!file.adler32 || file.sizeBytes == null)
      throw new PermanentJobError(
        `${file.name}: no adler32 and size from ingestion to verify against`,
      );

    const path = TapeService.pathOf(file);
    const condemned = copy.state === TapeState.BAD;
    await updateTapeCopy(
      { db: this.db, runs: this.runs },
      copy,
      { state: TapeState.COPYING, attempts: copy.attempts + 1 },
      file.runId,
    );
    try {
      const source = await this.source(file);
      // A door may cache a file's checksum by size and whole-second mtime (XRootD): a
      // corrupt copy overwritten within the second could still answer the old one.
      if (condemned) await tape.delete(path);
      await tape.put(path, source, file.sizeBytes);
      context.progress(0.8);
      const verified = await this.verify(tape, path, file.sizeBytes, file.adler32);
      return {
        result: { url: tape.urlFor(path), adler32: verified.adler32, checksumFrom: verified.from },
        commit: async (manager) => {
          await manager.update(TapeCopy, copy.id, {
            state: TapeState.ON_TAPE,
            url: tape.urlFor(path),
            verifiedChecksum: `adler32:${verified.adler32}`,
            verifiedAt: new Date(),
            lastError: null,
          });
        },
        afterCommit: () => this.runs.publish(file.runId),
      };
    } catch (error) {
      context.throwIfAborted();
      const message = (error as Error).message;
      await updateTapeCopy(
        { db: this.db, runs: this.runs },
        copy,
        { state: TapeState.FAILED, lastError: message },
        file.runId,
      );
      const lastAttempt = context.job.attempts >= context.job.maxAttempts;
      if (error instanceof TapeAuthError) {
        await this.alarm(file.name, file.runId, `token refused: ${message}`, 'tape-token');
        throw new DeferJobError(message, this.options.tokenRetryMs);
      }
      if (lastAttempt || error instanceof PermanentJobError)
        await this.alarm(file.name, file.runId, message, `tape-copy:${file.id}`);
      throw error;
    }
  }

  /**
   * What to copy: the verified cloud copy, or the buffer's file where the cloud copy is gone (a
   * tape copy found corrupt after retention freed the cloud). Either is checked against
   * ingestion's adler32 once on tape.
   */
  private async source(file: DataFile): Promise<Readable> {
    if (file.cloudState === ReplicaState.AVAILABLE && file.objectKey)
      return this.store.get(file.objectKey);
    if (file.localState === LocalState.PRESENT && file.localPath) {
      const handle = await openInBuffer(this.bufferDir, file.localPath);
      return handle.createReadStream({ highWaterMark: 1 << 20 });
    }
    throw new PermanentJobError(
      `${file.name}: no copy to put on tape (cloud ${file.cloudState}, buffer ${file.localState})`,
    );
  }

  /** Size and adler32 on tape must equal ingestion's; a bad copy is removed before retrying. */
  private async verify(
    tape: TapeStore,
    path: string,
    size: number,
    adler32: string,
  ): Promise<{ adler32: string; from: 'endpoint' | 'read-back' }> {
    const stat = await tape.stat(path);
    if (!stat) throw new Error(`${tape.urlFor(path)}: not found on tape right after the copy`);
    let found = stat.adler32;
    const from = found ? 'endpoint' : 'read-back';
    if (!found) found = (await adler32Of(await tape.get(path))).adler32;
    if (stat.size !== size || found !== adler32) {
      await tape.delete(path).catch(() => undefined);
      throw new Error(
        `${tape.urlFor(path)}: tape copy has ${stat.size} bytes, adler32 ${found} (${from}); expected ${size} bytes, adler32 ${adler32}; removed, will copy again`,
      );
    }
    return { adler32: found, from };
  }

  private async alarm(name: string, runId: number, message: string, fingerprint: string) {
    await this.alarms.raise({
      fingerprint,
      name: 'Tape copy failing',
      severity: Severity.CRITICAL,
      source: 'tape',
      message: `${name}: ${message}`,
      labels: { file: name, runId: String(runId) },
    });
  }
}
