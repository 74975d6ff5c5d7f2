import type { Database } from '../db/Database';
import { bindDate } from '../db/bulkInsert';
import { AuditEntry } from '../entities/AuditEntry';
import { logger } from '../logger';
import { byId, paginate, type ListOptions, type Page, type PageArgs } from './pagination';

const log = logger('audit');

const NEWEST_FIRST = byId<AuditEntry>('audit', 'DESC');

export interface AuditFilter {
  principal?: string | null;
  operation?: string | null;
  from?: Date | null;
  to?: Date | null;
}

export type AuditRecord = Omit<AuditEntry, 'id'>;

/** The audit log: every mutation, who asked, from where, with which arguments, and how it went. */
export class AuditService {
  constructor(
    private readonly db: Database,
    private readonly maxPageSize: number,
    /** A replica gateway's database is read-only: its (refused) mutations are logged instead. */
    private readonly readOnly = false,
  ) {}

  async record(entry: AuditRecord): Promise<void> {
    if (this.readOnly) {
      log.info({ audit: entry }, 'mutation refused by a read-only replica gateway');
      return;
    }
    const clip = (text: string, length: number) => text.slice(0, length);
    try {
      await this.db.write((m) =>
        m.insert(AuditEntry, {
          ...entry,
          principal: clip(entry.principal, 255),
          address: clip(entry.address, 64),
          operation: clip(entry.operation, 255),
          operationName: entry.operationName && clip(entry.operationName, 255),
          outcome: clip(entry.outcome, 64),
        }),
      );
    } catch (error) {
      // The mutation already happened: keep the record in the logs rather than lose it.
      log.error({ err: error, audit: entry }, 'audit entry could not be stored');
    }
  }

  list(
    filter: AuditFilter | null | undefined,
    page: PageArgs,
    options: ListOptions,
  ): Promise<Page<AuditEntry>> {
    const query = this.db.manager.createQueryBuilder(AuditEntry, 'audit');
    if (filter?.principal)
      query.andWhere('audit.principal = :principal', { principal: filter.principal });
    if (filter?.operation)
      query.andWhere('audit.operation LIKE :operation', { operation: `%${filter.operation}%` });
    // SQLite compares datetimes as text: bind them in its stored format.
    const m = this.db.manager;
    if (filter?.from) query.andWhere('audit.at >= :from', { from: bindDate(m, filter.from) });
    if (filter?.to) query.andWhere('audit.at < :to', { to: bindDate(m, filter.to) });
    return paginate(query, NEWEST_FIRST, page, { maxPageSize: this.maxPageSize, ...options });
  }
}
