import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from './columns';
import { Run } from './Run';

/** A per-run data-quality number (pedestal noise, spark fraction, ⁵⁵Fe peak position…). */
@ObjectType({ simpleResolvers: true, description: 'A per-run data-quality metric.' })
@Entity('dq_metrics')
@Index(['runId', 'name', 'recoVersion'], { unique: true })
export class DqMetric {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  runId: number;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'runId' })
  run?: Run;

  @Field()
  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Field(() => Float, { nullable: true })
  @Column({ type: 'double', nullable: true })
  value: number | null;

  @Field(() => Int)
  @Column({ type: 'int', default: 1 })
  recoVersion: number;

  @Field(() => Date)
  @CreatedAtColumn()
  createdAt: Date;
}
