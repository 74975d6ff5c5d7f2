import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { FlagSource, QualityStatus } from '../schema/enums';
import { DateTimeColumn, EnumColumn } from './columns';
import { Run } from './Run';

/**
 * A data-quality verdict for one subsystem of a run. Event-sourced: a change adds a row, the
 * newest per (run, subsystem) is current, and the history keeps who changed what and why.
 */
@ObjectType({ simpleResolvers: true, description: 'A data-quality flag (one row per change).' })
@Entity('quality_flags')
@Index(['runId', 'subsystem', 'setAt'])
export class QualityFlag {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  runId: number;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'runId' })
  run?: Run;

  @Field({ description: 'camera, pmt, gas, hv, daq, global…' })
  @Column({ type: 'varchar', length: 32 })
  subsystem: string;

  @Field(() => QualityStatus)
  @EnumColumn(QualityStatus)
  status: QualityStatus;

  @Field(() => FlagSource)
  @EnumColumn(FlagSource)
  source: FlagSource;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  comment: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 255, nullable: true })
  cause: string | null;

  @Field()
  @Column({ type: 'varchar', length: 255 })
  setBy: string;

  @Field(() => Date)
  @DateTimeColumn()
  setAt: Date;
}
