import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { bigintAsNumber } from './columns';

/**
 * An event's image summary under a reconstruction version that is not (yet) its run's current
 * one: a campaign writes here, and promotion swaps these with the summaries on the event rows
 * (which always hold the current version's, so that event queries need no version).
 */
@Entity('event_summaries')
@Index(['runId', 'recoVersion'])
export class EventSummary {
  @PrimaryColumn({ type: 'bigint', transformer: bigintAsNumber })
  eventId: number;

  @PrimaryColumn({ type: 'int' })
  recoVersion: number;

  @Column({ type: 'int' })
  runId: number;

  @Column({ type: 'int', nullable: true })
  clusterCount: number | null;

  @Column({ type: 'double', nullable: true })
  imageIntegral: number | null;

  @Column({ type: 'double', nullable: true })
  imageMean: number | null;

  @Column({ type: 'double', nullable: true })
  imageRms: number | null;

  @Column({ type: 'boolean', nullable: true })
  spark: boolean | null;
}
