import type { Config } from '../../config';
import type { Database } from '../../db/Database';
import type { Services } from '../../services';
import { HandlerRegistry } from '../registry';
import { IngestJob } from './IngestJob';

/** Every job handler, registered centrally; fails when a job kind has none. */
export function createHandlerRegistry(deps: {
  db: Database;
  services: Services;
  config: Config;
}): HandlerRegistry {
  const { db, services, config } = deps;
  return new HandlerRegistry([
    new IngestJob(db, services.runs, services.ingest, services.alarms, {
      site: config.site,
      objectKeyTemplate: config.objectKeyTemplate,
    }),
  ]);
}
