import type { Database } from '../../db/Database';
import { DataFile } from '../../entities/DataFile';
import { TapeCopy } from '../../entities/TapeCopy';
import type { RunService } from '../../services/RunService';
import type { TapeStore } from '../../tape';
import { PermanentJobError } from '../errors';
import type { JobContext } from '../registry';

/** The file and tape copy a TAPE_COPY or TAPE_RECALL job works on. */
export async function tapeJobSubject(
  db: Database,
  tape: TapeStore | null,
  context: JobContext,
): Promise<{ file: DataFile; copy: TapeCopy; tape: TapeStore }> {
  if (!tape) throw new PermanentJobError('no tape endpoint is configured (TAPE_URL=none)');
  const fileId = Number(context.job.payload?.fileId);
  const file = await db.manager.findOneBy(DataFile, { id: fileId });
  if (!file) throw new PermanentJobError(`job ${context.job.id}: file ${fileId} does not exist`);
  let copy = await db.manager.findOneBy(TapeCopy, { fileId, endpoint: tape.endpoint });
  if (!copy) {
    // Queued against another endpoint (TAPE_URL changed): track the copy on this one.
    await db.write((m) =>
      m.insert(TapeCopy, {
        fileId,
        endpoint: tape.endpoint,
        url: tape.urlFor(file.objectKey ?? file.name),
      }),
    );
    copy = await db.manager.findOneByOrFail(TapeCopy, { fileId, endpoint: tape.endpoint });
  }
  return { file, copy, tape };
}

/** Changes a tape copy (and the copy object in hand) and tells the run's subscribers. */
export async function updateTapeCopy(
  deps: { db: Database; runs: RunService },
  copy: TapeCopy,
  values: Partial<Pick<TapeCopy, 'state' | 'attempts' | 'lastError'>>,
  runId: number,
): Promise<void> {
  Object.assign(copy, values);
  await deps.db.write((m) => m.update(TapeCopy, copy.id, values));
  await deps.runs.publish(runId);
}
