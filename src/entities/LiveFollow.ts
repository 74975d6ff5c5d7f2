import { Column, Entity, PrimaryColumn } from 'typeorm';
import { BigIntColumn, DateTimeColumn } from './columns';

/**
 * Who follows an open run's files for the live reconstruction, and how far it got: one row per
 * run. The lease is taken and renewed by a conditional UPDATE, so one gateway follows a run
 * however many run workers; the position lets a restarted follower go on without repeating
 * events.
 */
@Entity('live_follows')
export class LiveFollow {
  @PrimaryColumn({ type: 'int' })
  runId: number;

  @Column({ type: 'varchar', length: 80, nullable: true })
  owner: string | null;

  @DateTimeColumn({ nullable: true })
  leaseUntil: Date | null;

  /** The file and the (uncompressed) offset of the next event not yet taken. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  fileName: string | null;

  @BigIntColumn({ default: 0 })
  fileOffset: number;

  /** Nothing more to follow: the run was read to its end, or following failed (Run.liveError). */
  @Column({ type: 'boolean', default: false })
  done: boolean;
}
