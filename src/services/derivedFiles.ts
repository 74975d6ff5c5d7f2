import type { EntityManager } from 'typeorm';
import { DataFile } from '../entities/DataFile';
import { LocalState, ReplicaState, type FileKind } from '../schema/enums';

export interface DerivedFile {
  runId: number;
  name: string;
  kind: FileKind;
  bucket: string;
  objectKey: string;
  sizeBytes: number;
  md5: string;
}

/** Object key of a file the pipeline makes (pedestal map, cluster table) for a run. */
export function derivedKey(
  site: string,
  folder: string,
  runNumber: number,
  suffix: string,
): string {
  return `${site}/${folder}/run${String(runNumber).padStart(5, '0')}${suffix}`;
}

/**
 * Records a pipeline output of a run, replacing the row of an earlier attempt with the same
 * name: an output has no DAQ buffer copy, only its object.
 */
export async function recordDerivedFile(
  manager: EntityManager,
  file: DerivedFile,
): Promise<number> {
  const values = {
    kind: file.kind,
    sizeBytes: file.sizeBytes,
    md5: file.md5,
    bucket: file.bucket,
    objectKey: file.objectKey,
    cloudState: ReplicaState.AVAILABLE,
    localState: LocalState.DELETED, // made in the pipeline: it never had a buffer copy
    localPath: null,
  };
  const existing = await manager.findOneBy(DataFile, { runId: file.runId, name: file.name });
  if (existing) {
    await manager.update(DataFile, existing.id, values);
    return existing.id;
  }
  const { identifiers } = await manager.insert(DataFile, {
    runId: file.runId,
    name: file.name,
    ...values,
  });
  return Number(identifiers[0].id);
}
