import { DataFile } from '../entities/DataFile';
import type { Database } from '../db/Database';
import { readMidasEvents, type MidasEvent } from '../reco/midas';
import { FileKind, ReplicaState } from '../schema/enums';
import type { ObjectStore } from '../storage/ObjectStore';

/** The raw files of a run that have a verified copy in the object store, in order. */
export async function storedRawFiles(db: Database, runId: number): Promise<DataFile[]> {
  return db.manager.find(DataFile, {
    where: { runId, kind: FileKind.RAW, cloudState: ReplicaState.AVAILABLE },
    order: { id: 'ASC' },
  });
}

/**
 * Streams the events of stored raw files from the object store (never from the DAQ buffer,
 * which may be gone): one event in memory at a time, whatever the file size. An event's data is
 * valid until the next event is asked for (the reader reuses its buffer, ReadOptions.reuseBuffer);
 * the header fields stay.
 */
export async function* storedEvents(
  store: ObjectStore,
  files: readonly DataFile[],
  signal?: AbortSignal,
): AsyncGenerator<{ file: DataFile; event: MidasEvent }> {
  for (const file of files) {
    const stream = await store.get(file.objectKey!);
    try {
      for await (const event of readMidasEvents(stream, { reuseBuffer: true })) {
        signal?.throwIfAborted();
        yield { file, event };
      }
    } finally {
      stream.destroy();
    }
  }
}
