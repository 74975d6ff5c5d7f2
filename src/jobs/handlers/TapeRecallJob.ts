import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import type { Database } from '../../db/Database';
import { DataFile } from '../../entities/DataFile';
import { TapeCopy } from '../../entities/TapeCopy';
import { JobKind, ReplicaState, TapeState } from '../../schema/enums';
import type { RunService } from '../../services/RunService';
import { TapeService } from '../../services/TapeService';
import type { ObjectStore } from '../../storage/ObjectStore';
import type { TapeStore } from '../../tape';
import { HashingStream } from '../../tape/checksumStream';
import { PermanentJobError } from '../errors';
import type { JobContext, JobHandler, JobOutcome } from '../registry';
import { tapeJobSubject, updateTapeCopy } from './tapeFiles';

/**
 * TAPE_RECALL: tape → object store for a file whose cloud copy is gone. The bytes are hashed on
 * the way (MD5 and adler32) and must equal what ingestion measured; the stored object is checked
 * too. Only then is the file AVAILABLE again.
 */
export class TapeRecallJob implements JobHandler {
  readonly kind = JobKind.TAPE_RECALL;

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly tape: TapeStore | null,
    private readonly runs: RunService,
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
    try {
      const hashing = new HashingStream();
      const body = new PassThrough();
      const upload = this.store.put(file.objectKey, body, file.sizeBytes);
      await Promise.all([
        pipeline(await tape.get(TapeService.pathOf(file)), hashing, body),
        upload,
      ]);
      const got = hashing.digests();
      const problems: string[] = [];
      if (got.size !== file.sizeBytes)
        problems.push(`${got.size} bytes, ${file.sizeBytes} expected`);
      if (got.md5 !== file.md5) problems.push(`MD5 ${got.md5}, ${file.md5} expected`);
      if (got.adler32 !== file.adler32)
        problems.push(`adler32 ${got.adler32}, ${file.adler32} expected`);
      const stored = await this.store.stat(file.objectKey);
      if (stored?.size !== file.sizeBytes) problems.push(`stored object has ${stored?.size} bytes`);
      if (problems.length > 0) {
        await this.store.delete(file.objectKey);
        throw new Error(`${file.name}: recalled copy rejected: ${problems.join('; ')}`);
      }
    } catch (error) {
      await updateTapeCopy(
        { db: this.db, runs: this.runs },
        copy,
        { state: TapeState.ON_TAPE },
        file.runId,
      );
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
}
