import type { Database } from '../../db/Database';
import { DataFile } from '../../entities/DataFile';
import { TapeCopy } from '../../entities/TapeCopy';
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
