import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { LessThan } from 'typeorm';
import type { Database } from '../db/Database';
import { DataFile } from '../entities/DataFile';
import { Run } from '../entities/Run';
import { decodePedestalMap, encodePedestalMap, type PedestalMap } from '../reco/image';
import { FileKind, ReplicaState } from '../schema/enums';
import type { ObjectStore } from '../storage/ObjectStore';
import { readObject } from '../storage/readObject';

/** Pedestal maps: which one a run uses, and moving them to and from the object store. */
export class PedestalService {
  /** The last map loaded: consecutive data runs share a pedestal run. */
  private cached: { fileId: number; md5: string | null; map: PedestalMap } | undefined;

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
  ) {}

  /** The newest pedestal run before `runNumber` (DESIGN §7), or null. */
  async pedestalRunBefore(runNumber: number): Promise<Run | null> {
    return this.db.manager.findOne(Run, {
      where: { pedestal: true, runNumber: LessThan(runNumber) },
      order: { runNumber: 'DESC' },
    });
  }

  async mapFileOf(runId: number): Promise<DataFile | null> {
    return this.db.manager.findOne(DataFile, {
      where: { runId, kind: FileKind.PEDESTAL_MAP, cloudState: ReplicaState.AVAILABLE },
    });
  }

  /** Loads a stored map into shared memory (for the reconstruction threads). */
  async load(file: DataFile): Promise<PedestalMap> {
    if (this.cached?.fileId === file.id && this.cached.md5 === file.md5) return this.cached.map;
    const map = decodePedestalMap(await readObject(this.store, file.objectKey!), true);
    this.cached = { fileId: file.id, md5: file.md5, map };
    return map;
  }

  /** Stores a map under `key`; returns what the DataFile row records. */
  async save(key: string, map: PedestalMap): Promise<{ sizeBytes: number; md5: string }> {
    const bytes = encodePedestalMap(map);
    await this.store.put(key, Readable.from([bytes]), bytes.length);
    return { sizeBytes: bytes.length, md5: createHash('md5').update(bytes).digest('hex') };
  }
}
