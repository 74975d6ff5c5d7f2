import fs from 'node:fs';
import path from 'node:path';
import { DataSource, type DataSourceOptions, type Logger as TypeOrmLogger } from 'typeorm';
import { ENTITIES } from '../entities';
import { mariadbAddress } from './mariadbAddress';
import { MIGRATIONS } from './migrations';

export type Dialect = 'sqlite' | 'mariadb';

export interface DataSourceExtras {
  /** Receives every SQL statement (tests count them). */
  logger?: TypeOrmLogger;
}

/** Which SQL dialect a DATABASE_URL selects. */
export function dialectOf(databaseUrl: string): Dialect {
  return databaseUrl.startsWith('sqlite:') ? 'sqlite' : 'mariadb';
}

/** Builds the TypeORM options for a DATABASE_URL (`sqlite:PATH` or `mariadb://user:pass@host:port/db`). */
export function dataSourceOptions(
  databaseUrl: string,
  extras: DataSourceExtras = {},
): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    synchronize: false,
    migrationsTransactionMode: 'each' as const,
    logger: extras.logger,
  };
  if (dialectOf(databaseUrl) === 'sqlite') {
    const database = databaseUrl.slice('sqlite:'.length) || ':memory:';
    if (database !== ':memory:')
      fs.mkdirSync(path.dirname(path.resolve(database)), { recursive: true });
    return {
      ...common,
      type: 'better-sqlite3',
      database,
      // WAL lets the API read while a worker process writes; the busy timeout makes writers from
      // several processes (gateway + `worker` commands) wait for each other instead of failing.
      enableWAL: true,
      timeout: 10_000,
      prepareDatabase: (db: { pragma(sql: string): unknown }) => {
        db.pragma('foreign_keys = ON');
        db.pragma('synchronous = NORMAL');
      },
    };
  }
  const { user, ...address } = mariadbAddress(databaseUrl);
  return {
    ...common,
    type: 'mariadb',
    ...address,
    username: user,
    timezone: 'Z',
    charset: 'utf8mb4',
    supportBigNumbers: true,
    poolSize: 10,
    connectTimeout: 5_000,
  };
}

export function createDataSource(databaseUrl: string, extras: DataSourceExtras = {}): DataSource {
  return new DataSource(dataSourceOptions(databaseUrl, extras));
}
