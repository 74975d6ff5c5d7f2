import { Brackets } from 'typeorm';
import type { Database } from '../db/Database';
import { LiveFollow } from '../entities/LiveFollow';

/**
 * Who follows a run: a lease in `live_follows`, taken and renewed by one conditional UPDATE,
 * so that the database decides between gateways (the row's owner, or nobody, or a lease run
 * out). The follower's position rides on its renewals.
 */
export class LiveLease {
  constructor(
    private readonly db: Database,
    private readonly owner: string,
    private readonly leaseMs: number,
  ) {}

  /** Takes the run's lease if it is free or lapsed (or already ours); the row, or null. */
  async claim(runId: number): Promise<LiveFollow | null> {
    await this.db.write((manager) =>
      manager
        .getRepository(LiveFollow)
        .createQueryBuilder()
        .insert()
        .values({
          runId,
          owner: null,
          leaseUntil: null,
          fileName: null,
          fileOffset: 0,
          done: false,
        })
        .orIgnore()
        .execute(),
    );
    const now = new Date();
    const update = await this.db.write((manager) =>
      manager
        .createQueryBuilder()
        .update(LiveFollow)
        .set({ owner: this.owner, leaseUntil: new Date(now.getTime() + this.leaseMs) })
        .where('runId = :runId AND done = :notDone', { runId, notDone: false })
        .andWhere(
          new Brackets((free) =>
            free
              .where('owner IS NULL')
              .orWhere('owner = :owner', { owner: this.owner })
              .orWhere('leaseUntil < :now', { now }),
          ),
        )
        .execute(),
    );
    if (update.affected !== 1) return null;
    return this.db.manager.findOneBy(LiveFollow, { runId });
  }

  /**
   * Renews the lease and records the position (and `done`); false when the lease was lost
   * (another gateway took the run over after this one stalled): the caller stops following.
   */
  async renew(
    runId: number,
    position: { fileName: string | null; fileOffset: number; done?: boolean },
  ): Promise<boolean> {
    const update = await this.db.write((manager) =>
      manager
        .createQueryBuilder()
        .update(LiveFollow)
        .set({ ...position, leaseUntil: new Date(Date.now() + this.leaseMs) })
        .where('runId = :runId AND owner = :owner', { runId, owner: this.owner })
        .execute(),
    );
    return update.affected === 1;
  }

  /** Lets go of the run (at shutdown): another gateway may take it at once. */
  async release(runId: number): Promise<void> {
    await this.db.write((manager) =>
      manager
        .createQueryBuilder()
        .update(LiveFollow)
        .set({ owner: null, leaseUntil: null })
        .where('runId = :runId AND owner = :owner', { runId, owner: this.owner })
        .execute(),
    );
  }
}
