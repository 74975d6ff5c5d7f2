import { In, type EntityManager } from 'typeorm';
import type { Principal } from '../auth/roles';
import { readRows } from '../db/readRows';
import type { Database } from '../db/Database';
import { QualityFlag } from '../entities/QualityFlag';
import { Run } from '../entities/Run';
import { NotFoundError } from '../errors';
import { FlagSource, QualityStatus } from '../schema/enums';

export interface NewFlag {
  runId: number;
  subsystem: string;
  status: QualityStatus;
  source: FlagSource;
  comment?: string | null;
  cause?: string | null;
  setBy: string;
}

/**
 * The run's quality summary from its current flags: a shifter's `global` flag is the sign-off
 * and decides; otherwise the worst subsystem (BAD, then QUESTIONABLE), GOOD when every flagged
 * subsystem is GOOD, UNKNOWN without flags.
 */
export function summarise(
  current: readonly Pick<QualityFlag, 'subsystem' | 'status' | 'source'>[],
): QualityStatus {
  const signOff = current.find((f) => f.subsystem === 'global' && f.source === FlagSource.SHIFTER);
  if (signOff) return signOff.status;
  const statuses = new Set(current.map((f) => f.status));
  if (statuses.has(QualityStatus.BAD)) return QualityStatus.BAD;
  if (statuses.has(QualityStatus.QUESTIONABLE)) return QualityStatus.QUESTIONABLE;
  if (statuses.size === 1 && statuses.has(QualityStatus.GOOD)) return QualityStatus.GOOD;
  return QualityStatus.UNKNOWN;
}

/** Data-quality flags. Event-sourced: the newest row per (run, subsystem) is the current flag. */
export class QualityService {
  constructor(private readonly db: Database) {}

  /** The current flag of every subsystem of each run, in one query for all the runs. */
  async currentByRunIds(
    runIds: readonly number[],
    columns?: readonly string[],
    manager: EntityManager = this.db.manager,
  ): Promise<QualityFlag[]> {
    if (runIds.length === 0) return [];
    const history = await readRows(
      manager
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

  /** Every change of the runs' flags, oldest first (optionally of one subsystem), in one query. */
  async historyOfRuns(
    runIds: readonly number[],
    subsystem?: string | null,
  ): Promise<QualityFlag[]> {
    if (runIds.length === 0) return [];
    return this.db.manager.find(QualityFlag, {
      where: { runId: In([...runIds]), ...(subsystem ? { subsystem } : {}) },
      order: { setAt: 'ASC', id: 'ASC' },
    });
  }

  /** A shifter's verdict: a new row in the history, and the run's summary brought up to date. */
  async setByShifter(
    input: {
      runNumber: number;
      subsystem: string;
      status: QualityStatus;
      comment?: string | null;
      cause?: string | null;
    },
    principal: Principal,
  ): Promise<{ flag: QualityFlag; runId: number }> {
    return this.db.transaction(async (manager) => {
      const run = await manager.findOneBy(Run, { runNumber: input.runNumber });
      if (!run) throw new NotFoundError('run', input.runNumber);
      const flag = await this.add(manager, {
        runId: run.id,
        subsystem: input.subsystem,
        status: input.status,
        source: FlagSource.SHIFTER,
        comment: input.comment ?? null,
        cause: input.cause ?? null,
        setBy: principal.name,
      });
      return { flag, runId: run.id };
    });
  }

  /** Adds a flag row and refreshes the run's summary, inside the caller's transaction. */
  async add(manager: EntityManager, flag: NewFlag): Promise<QualityFlag> {
    const row = manager.create(QualityFlag, {
      ...flag,
      comment: flag.comment ?? null,
      cause: flag.cause ?? null,
      setAt: new Date(),
    });
    await manager.insert(QualityFlag, row);
    const current = await this.currentByRunIds([flag.runId], undefined, manager);
    await manager.update(Run, flag.runId, { quality: summarise(current) });
    return row;
  }
}
