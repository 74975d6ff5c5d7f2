import type { Database } from '../db/Database';
import { databaseDate } from '../db/databaseDate';
import { logger } from '../logger';
import type { PubSub } from '../pubsub';
import { readHeartbeat } from './heartbeatReader';

/** One entry of the change log, as subscribers of `changes` receive it. */
export interface Change {
  id: number;
  topic: string;
  /** The payload as published (JSON). */
  message: string;
  at: Date;
}

const ROWS_PER_POLL = 1_000;
/**
 * How long (in the primary's time, from its heartbeat) a missing id is waited for. Ids are
 * taken when a row is inserted, not when it commits, so two writers can commit 7 after 8; and
 * a rolled-back insert leaves a hole for ever. Measured by the primary's replicated clock, a
 * link that is down does not count as waiting.
 */
const GAP_WAIT_MS = 10_000;
const MAX_GAPS = 10_000;

type ChangeListener = (change: Change) => void;

interface ChangeRow {
  id: number | string;
  topic: string;
  payload: string;
  createdAt: Date | string;
}

/**
 * Follows the change log of the database this gateway reads — on a replica, as MariaDB
 * replication applies it — and hands each change on once, in the order the log received it:
 * to the `changes` subscription's listeners and, on a replica gateway, to this process's
 * ordinary subscribers (`runUpdated`, `jobUpdated`, …), which never hear the lab's Redis.
 */
export class ChangeFollower {
  private readonly log = logger('change-follower');
  private readonly listeners = new Set<ChangeListener>();
  private lastId = 0;
  /** When the log received change `lastId` (null: none yet). */
  private lastAt: Date | null = null;
  /** Ids below lastId not yet seen → the primary's time when they were first missed (ms). */
  private readonly gaps = new Map<number, number>();
  private timer?: NodeJS.Timeout;
  private polling?: Promise<void>;
  private stopped = false;
  private readonly ready: Promise<void>;
  private markReady!: () => void;

  constructor(
    private readonly db: Database,
    private readonly pollMs: number,
    /** Replica gateways: the local pub/sub whose subscribers get each change. */
    private readonly republishTo?: PubSub,
    private readonly gapWaitMs = GAP_WAIT_MS,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
  }

  /** Starts after the newest change now in the log: history is for `changes(after:)`. */
  async start(): Promise<void> {
    const [newest] = (await this.db.manager.query(
      'SELECT id, createdAt FROM change_log ORDER BY id DESC LIMIT 1',
    )) as Array<{ id: number | string; createdAt: Date | string }>;
    this.lastId = newest ? Number(newest.id) : 0;
    this.lastAt = newest ? databaseDate(newest.createdAt) : null;
    this.markReady();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.polling;
  }

  /** Listeners of `changes` subscriptions now attached (tests wait on it). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** The newest change this follower has handed on (0: none yet). */
  get position(): number {
    return this.lastId;
  }

  /** When the log received the newest change handed on (null: none yet). */
  get positionAt(): Date | null {
    return this.lastAt;
  }

  /** Calls `listener` with every change handed on from now; returns how to stop. */
  async listen(listener: ChangeListener): Promise<{ position: number; stop: () => void }> {
    await this.ready;
    this.listeners.add(listener);
    return { position: this.lastId, stop: () => this.listeners.delete(listener) };
  }

  async newestId(): Promise<number> {
    const [row] = (await this.db.manager.query('SELECT MAX(id) AS id FROM change_log')) as Array<{
      id: number | string | null;
    }>;
    return Number(row?.id ?? 0);
  }

  async oldestId(): Promise<number | null> {
    const [row] = (await this.db.manager.query('SELECT MIN(id) AS id FROM change_log')) as Array<{
      id: number | string | null;
    }>;
    return row?.id == null ? null : Number(row.id);
  }

  /** Changes after `afterId` up to `untilId` (inclusive), oldest first, a page at a time. */
  async *history(afterId: number, untilId: number): AsyncGenerator<Change> {
    let from = afterId;
    while (from < untilId) {
      const rows = (await this.db.manager.query(
        `SELECT id, topic, payload, createdAt FROM change_log WHERE id > ? AND id <= ? ORDER BY id LIMIT ${ROWS_PER_POLL}`,
        [from, untilId],
      )) as ChangeRow[];
      if (rows.length === 0) return;
      for (const row of rows) yield toChange(row);
      from = Number(rows[rows.length - 1].id);
    }
  }

  private schedule(delayMs = this.pollMs): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll()
        .catch((error: Error) => {
          this.log.warn({ err: error }, 'change log not read; trying again');
          return false;
        })
        .then((more) => this.schedule(more ? 0 : this.pollMs));
    }, delayMs);
    this.timer.unref?.();
  }

  /** Reads what is new; true when a full page came back (more may be waiting). */
  private async poll(): Promise<boolean> {
    const gapIds = [...this.gaps.keys()];
    const rows = (await this.db.manager.query(
      `SELECT id, topic, payload, createdAt FROM change_log
        WHERE id > ?${gapIds.length > 0 ? ` OR id IN (${gapIds.map(() => '?').join(', ')})` : ''}
        ORDER BY id LIMIT ${ROWS_PER_POLL}`,
      [this.lastId, ...gapIds],
    )) as ChangeRow[];
    // The primary's clock matters only for missing ids: read it only when there are some.
    let expected = this.lastId + 1;
    const missing = gapIds.length > 0 || rows.some((row) => Number(row.id) > expected++);
    const primaryNow = missing
      ? ((await readHeartbeat(this.db))?.beatAt.getTime() ?? Date.now())
      : 0;
    for (const row of rows) {
      const id = Number(row.id);
      if (id > this.lastId) {
        for (let missing = this.lastId + 1; missing < id && this.gaps.size < MAX_GAPS; missing++)
          this.gaps.set(missing, primaryNow);
        this.lastId = id;
      } else if (!this.gaps.delete(id)) {
        continue; // already handed on
      }
      const change = toChange(row);
      if (id === this.lastId) this.lastAt = change.at;
      this.hand(change);
    }
    for (const [id, missedAt] of this.gaps)
      if (primaryNow - missedAt > this.gapWaitMs) this.gaps.delete(id);
    return rows.length === ROWS_PER_POLL;
  }

  private hand(change: Change): void {
    this.republishTo?.deliverLocally(change.topic, change.message);
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch (error) {
        this.log.error({ err: error }, 'a change listener failed');
      }
    }
  }
}

function toChange(row: ChangeRow): Change {
  return {
    id: Number(row.id),
    topic: row.topic,
    message: row.payload,
    at: databaseDate(row.createdAt),
  };
}
