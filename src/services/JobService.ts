import { readRows } from '../db/readRows';
import type { Database } from '../db/Database';
import { Job } from '../entities/Job';
import type { JobQueue } from '../jobs/JobQueue';
import type { JobFilter } from '../schema/filters';
import { byId, paginate, type ListOptions, type Page, type PageArgs } from './pagination';

const NEWEST_FIRST = byId<Job>('job', 'DESC');

/** Jobs as the API sees them: listing, retry and cancel (the engine itself is src/jobs). */
export class JobService {
  constructor(
    private readonly db: Database,
    private readonly queue: JobQueue,
    private readonly maxPageSize: number,
  ) {}

  list(
    filter: JobFilter | null | undefined,
    page: PageArgs,
    options: ListOptions,
  ): Promise<Page<Job>> {
    const query = this.db.manager.createQueryBuilder(Job, 'job');
    if (filter?.runNumber != null) {
      query.andWhere('job.runNumber = :runNumber', { runNumber: filter.runNumber });
    }
    if (filter?.kinds?.length) query.andWhere('job.kind IN (:...kinds)', { kinds: filter.kinds });
    if (filter?.states?.length)
      query.andWhere('job.state IN (:...states)', { states: filter.states });
    if (filter?.ids?.length) query.andWhere('job.id IN (:...ids)', { ids: filter.ids.map(Number) });
    return paginate(query, NEWEST_FIRST, page, { maxPageSize: this.maxPageSize, ...options });
  }

  async byRunIds(runIds: readonly number[], columns?: readonly string[]): Promise<Job[]> {
    if (runIds.length === 0) return [];
    return readRows(
      this.db.manager
        .createQueryBuilder(Job, 'job')
        .where('job.runId IN (:...runIds)', { runIds })
        .orderBy('job.id', 'ASC'),
      columns,
    );
  }

  retry(id: number): Promise<Job> {
    return this.queue.retry(id);
  }

  cancel(id: number): Promise<Job> {
    return this.queue.cancel(id);
  }
}
