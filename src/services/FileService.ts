import { readRows } from '../db/readRows';
import type { Database } from '../db/Database';
import { DataFile } from '../entities/DataFile';
import { TapeCopy } from '../entities/TapeCopy';
import type { FileFilter } from '../schema/filters';
import { byId, paginate, type ListOptions, type Page, type PageArgs } from './pagination';
import type { ObjectStore } from '../storage/ObjectStore';
import { ReplicaState } from '../schema/enums';

const BY_ID = byId<DataFile>('file', 'DESC');

/** How long a presigned download link stays valid. */
export const DOWNLOAD_URL_TTL_SECONDS = 3600;

/** Data files and their replicas. */
export class FileService {
  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly maxPageSize: number,
  ) {}

  list(
    filter: FileFilter | null | undefined,
    page: PageArgs,
    options: ListOptions,
  ): Promise<Page<DataFile>> {
    const query = this.db.manager.createQueryBuilder(DataFile, 'file');
    if (filter?.runNumber != null) {
      query
        .innerJoin('runs', 'run', 'run.id = file.runId')
        .andWhere('run.runNumber = :runNumber', { runNumber: filter.runNumber });
    }
    if (filter?.kinds?.length) query.andWhere('file.kind IN (:...kinds)', { kinds: filter.kinds });
    if (filter?.cloudStates?.length)
      query.andWhere('file.cloudState IN (:...cloudStates)', { cloudStates: filter.cloudStates });
    if (filter?.localStates?.length)
      query.andWhere('file.localState IN (:...localStates)', { localStates: filter.localStates });
    if (filter?.nameContains)
      query.andWhere('file.name LIKE :name', { name: `%${filter.nameContains}%` });
    return paginate(query, BY_ID, page, { maxPageSize: this.maxPageSize, ...options });
  }

  async byRunIds(runIds: readonly number[], columns?: readonly string[]): Promise<DataFile[]> {
    if (runIds.length === 0) return [];
    return readRows(
      this.db.manager
        .createQueryBuilder(DataFile, 'file')
        .where('file.runId IN (:...runIds)', { runIds })
        .orderBy('file.id', 'ASC'),
      columns,
    );
  }

  async tapeCopiesByFileIds(
    fileIds: readonly number[],
    columns?: readonly string[],
  ): Promise<TapeCopy[]> {
    if (fileIds.length === 0) return [];
    return readRows(
      this.db.manager
        .createQueryBuilder(TapeCopy, 'copy')
        .where('copy.fileId IN (:...fileIds)', { fileIds })
        .orderBy('copy.id', 'ASC'),
      columns,
    );
  }

  /** A short-lived download link, only while a verified cloud copy exists. */
  async downloadUrl(file: DataFile): Promise<string | null> {
    if (file.cloudState !== ReplicaState.AVAILABLE || !file.objectKey) return null;
    return this.store.presign(file.objectKey, DOWNLOAD_URL_TTL_SECONDS);
  }
}
