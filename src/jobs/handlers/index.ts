import type { Database } from '../../db/Database';
import type { Services } from '../../services';
import { HandlerRegistry } from '../registry';
import { IngestJob } from './IngestJob';

/** Every job handler, registered centrally; fails when a job kind has none. */
export function createHandlerRegistry(deps: { db: Database; services: Services }): HandlerRegistry {
  return new HandlerRegistry([new IngestJob(deps.db, deps.services.runs)]);
}
