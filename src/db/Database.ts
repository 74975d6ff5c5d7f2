import type { DataSource, EntityManager } from 'typeorm';
import { logger } from '../logger';
import { dialectOf, type Dialect } from './dataSource';

/** Runs async critical sections one at a time, in call order. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

const BUSY_RETRIES = 20;

/**
 * The gateway's handle on the metadata database. Every write goes through `transaction` or
 * `write`: on SQLite, TypeORM shares one connection in a process, so two interleaved async
 * transactions would silently merge into one; here they are serialised instead, and a write
 * that meets another process's lock (a `worker` command on the same file) is retried.
 */
export class Database {
  readonly dialect: Dialect;
  private readonly mutex = new Mutex();
  private readonly log = logger('db');

  constructor(
    readonly dataSource: DataSource,
    databaseUrl: string,
  ) {
    this.dialect = dialectOf(databaseUrl);
  }

  /** For reads. */
  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.serialised(() => this.dataSource.transaction(fn));
  }

  /** A write outside a transaction (a single statement, or statements that need not be atomic). */
  write<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.serialised(() => fn(this.dataSource.manager));
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    if (this.dialect !== 'sqlite') return fn();
    return this.mutex.run(async () => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await fn();
        } catch (error) {
          if (!isBusy(error) || attempt >= BUSY_RETRIES) throw error;
          this.log.debug({ attempt }, 'database busy (another process writes); retrying');
          await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
        }
      }
    });
  }
}

function isBusy(error: unknown): boolean {
  const code = String(
    (error as { driverError?: { code?: string }; code?: string }).driverError?.code ??
      (error as { code?: string }).code ??
      '',
  );
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
}

/** True for a unique-key violation on either dialect (a concurrent duplicate of a natural key). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { driverError?: { code?: string; errno?: number }; code?: string };
  const code = e.driverError?.code ?? e.code ?? '';
  return (
    code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    code === 'ER_DUP_ENTRY'
  );
}

/** True when MariaDB aborted the transaction to break a deadlock (or a lock wait timed out). */
export function isDeadlock(error: unknown): boolean {
  const e = error as { driverError?: { code?: string }; code?: string };
  const code = e.driverError?.code ?? e.code ?? '';
  return code === 'ER_LOCK_DEADLOCK' || code === 'ER_LOCK_WAIT_TIMEOUT';
}

/**
 * Runs `fn` (a whole transaction) again when MariaDB chose it as a deadlock victim: InnoDB rolled
 * all of it back, so running it again is safe. Other errors, and the last attempt's, go through.
 */
export async function retryOnDeadlock<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (!isDeadlock(error) || attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 10 * attempt));
    }
  }
}
