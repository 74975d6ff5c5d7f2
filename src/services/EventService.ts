import type { Database } from '../db/Database';
import { readRows } from '../db/readRows';
import { Event } from '../entities/Event';
import { Run } from '../entities/Run';
import { NotFoundError } from '../errors';
import type { EventFilter } from '../schema/filters';
import { applyEventFilter } from './queryFilters';
import { byId, paginate, type ListOptions, type Page, type PageArgs } from './pagination';

// File order: the offset within its file, files in id order.
const IN_FILE_ORDER = byId<Event>('event', 'ASC');

/** The event index of runs (filled by INGEST). */
export class EventService {
  constructor(
    private readonly db: Database,
    private readonly maxPageSize: number,
  ) {}

  async byIds(ids: readonly number[], columns?: readonly string[]): Promise<Event[]> {
    if (ids.length === 0) return [];
    return readRows(
      this.db.manager.createQueryBuilder(Event, 'event').where('event.id IN (:...ids)', { ids }),
      columns,
    );
  }

  async list(
    runNumber: number,
    filter: EventFilter | null | undefined,
    page: PageArgs,
    options: ListOptions,
  ): Promise<Page<Event>> {
    const run = await this.db.manager.findOne(Run, { where: { runNumber }, select: { id: true } });
    if (!run) throw new NotFoundError('run', runNumber);
    const query = this.db.manager
      .createQueryBuilder(Event, 'event')
      .where('event.runId = :runId', { runId: run.id });
    applyEventFilter(query, filter, this.db.dialect);
    return paginate(query, IN_FILE_ORDER, page, { maxPageSize: this.maxPageSize, ...options });
  }
}
