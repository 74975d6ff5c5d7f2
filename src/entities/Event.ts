import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Generated } from 'typeorm';
import { SafeIntScalar } from '../schema/scalars';
import { bigintAsNumber, BigIntColumn, DateTimeColumn } from './columns';
import { DataFile } from './DataFile';
import { Run } from './Run';

/** One MIDAS event of a run, indexed at ingestion; image summaries filled by reconstruction. */
@ObjectType({ simpleResolvers: true, description: 'A MIDAS event of a run.' })
@Entity('events')
@Index(['runId', 'serial'])
@Index(['fileId', 'fileOffset'], { unique: true })
@Index(['runId', 'timestamp'])
export class Event {
  @Field(() => ID)
  // 64-bit in the database, a JS number here (TypeORM's generated-column decorator takes no transformer).
  @PrimaryColumn({ type: 'bigint', transformer: bigintAsNumber })
  @Generated('increment')
  id: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  runId: number;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'runId' })
  run?: Run;

  /** The file the event was read from (a run may have several). */
  @Field(() => Int)
  @Column({ type: 'int' })
  fileId: number;

  @ManyToOne(() => DataFile, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'fileId' })
  file?: DataFile;

  @Field(() => SafeIntScalar, {
    description: 'MIDAS serial number (per equipment; not unique in a run).',
  })
  @BigIntColumn()
  serial: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  eventId: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  triggerMask: number;

  @Field(() => Date)
  @DateTimeColumn()
  timestamp: Date;

  @Field(() => SafeIntScalar, {
    description: 'Byte offset of the event header in the uncompressed file.',
  })
  @BigIntColumn()
  fileOffset: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  sizeBytes: number;

  @Field(() => [String])
  @Column({ type: 'simple-array' })
  bankNames: string[];

  @Field(() => Int, { nullable: true })
  @Column({ type: 'int', nullable: true })
  clusterCount: number | null;

  @Field(() => Float, { nullable: true })
  @Column({ type: 'double', nullable: true })
  imageIntegral: number | null;

  @Field(() => Float, { nullable: true })
  @Column({ type: 'double', nullable: true })
  imageMean: number | null;

  @Field(() => Float, { nullable: true })
  @Column({ type: 'double', nullable: true })
  imageRms: number | null;

  @Field(() => Boolean, { nullable: true })
  @Column({ type: 'boolean', nullable: true })
  spark: boolean | null;
}
