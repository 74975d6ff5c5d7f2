import { readRows } from '../db/readRows';
import type { Database } from '../db/Database';
import { QualityFlag } from '../entities/QualityFlag';

/** Data-quality flags. Event-sourced: the newest row per (run, subsystem) is the current flag. */
export class QualityService {
  constructor(private readonly db: Database) {}

  /** The current flag of every subsystem of each run, in one query for all the runs. */
  async currentByRunIds(
    runIds: readonly number[],
    columns?: readonly string[],
  ): Promise<QualityFlag[]> {
    if (runIds.length === 0) return [];
    const history = await readRows(
      this.db.manager
        .createQueryBuilder(QualityFlag, 'flag')
        .where('flag.runId IN (:...runIds)', { runIds })
        .orderBy('flag.setAt', 'ASC')
        .addOrderBy('flag.id', 'ASC'),
      columns,
    );
    const latest = new Map<string, QualityFlag>();
    for (const flag of history) latest.set(`${flag.runId}/${flag.subsystem}`, flag);
    return [...latest.values()];
  }
}
