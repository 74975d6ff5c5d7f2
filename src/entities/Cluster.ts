import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Generated } from 'typeorm';
import { BigIntColumn, bigintAsNumber } from './columns';
import { Event } from './Event';

/** A reconstructed camera cluster: the CYGNO reconstruction's `sc_*` quantities. */
@ObjectType({
  simpleResolvers: true,
  description: 'A reconstructed cluster (CYGNO sc_* quantities).',
})
@Entity('clusters')
@Index(['runId', 'recoVersion'])
@Index(['eventId'])
@Index(['integral'])
export class Cluster {
  @Field(() => ID)
  // 64-bit in the database, a JS number here (TypeORM's generated-column decorator takes no transformer).
  @PrimaryColumn({ type: 'bigint', transformer: bigintAsNumber })
  @Generated('increment')
  id: number;

  @Field(() => ID)
  @BigIntColumn()
  eventId: number;

  @ManyToOne(() => Event, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'eventId' })
  event?: Event;

  /** Denormalised from the event so cluster queries filter on runs without a join. */
  @Field(() => Int)
  @Column({ type: 'int' })
  runId: number;

  @Field(() => Int, { description: 'Reconstruction parameter version that produced it.' })
  @Column({ type: 'int', default: 1 })
  recoVersion: number;

  @Field(() => Float) @Column({ type: 'double' }) integral: number;
  @Field(() => Int) @Column({ type: 'int' }) nhits: number;
  @Field(() => Int) @Column({ type: 'int' }) size: number;
  @Field(() => Float) @Column({ type: 'double' }) length: number;
  @Field(() => Float) @Column({ type: 'double' }) width: number;
  @Field(() => Float) @Column({ type: 'double' }) theta: number;
  @Field(() => Float) @Column({ type: 'double' }) xMean: number;
  @Field(() => Float) @Column({ type: 'double' }) yMean: number;
  @Field(() => Int) @Column({ type: 'int' }) xMin: number;
  @Field(() => Int) @Column({ type: 'int' }) xMax: number;
  @Field(() => Int) @Column({ type: 'int' }) yMin: number;
  @Field(() => Int) @Column({ type: 'int' }) yMax: number;
  @Field(() => Float) @Column({ type: 'double' }) rms: number;
  @Field(() => Float) @Column({ type: 'double' }) longitudinalRms: number;
  @Field(() => Float) @Column({ type: 'double' }) transverseRms: number;

  @Field(() => Float, { nullable: true, description: 'Calibrated energy (keV).' })
  @Column({ type: 'double', nullable: true })
  energy: number | null;
}
