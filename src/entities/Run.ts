import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Entity, Index, PrimaryGeneratedColumn, Column } from 'typeorm';
import { GraphQLJSON } from 'graphql-scalars';
import { QualityStatus, RecoStatus, RunState } from '../schema/enums';
import {
  CreatedAtColumn,
  DateTimeColumn,
  EnumColumn,
  JsonColumn,
  UpdatedAtColumn,
  type JsonObject,
} from './columns';

/** A DAQ run: the unit the pipeline moves, reconstructs, copies to tape and signs off. */
@ObjectType({ simpleResolvers: true, description: 'A DAQ run.' })
@Entity('runs')
@Index(['startedAt'])
@Index(['state'])
@Index(['quality'])
export class Run {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => Int)
  @Index({ unique: true })
  @Column({ type: 'int' })
  runNumber: number;

  @Field(() => RunState)
  @EnumColumn(RunState, RunState.RUNNING)
  state: RunState;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 1024, nullable: true })
  description: string | null;

  @Field(() => String, {
    nullable: true,
    description: 'DATA, PED, CAL…; parsed from "S003:DATA:…" descriptions.',
  })
  @Column({ type: 'varchar', length: 32, nullable: true })
  runType: string | null;

  @Field()
  @Column({ type: 'boolean', default: false })
  pedestal: boolean;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  startedAt: Date | null;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  stoppedAt: Date | null;

  @Field({ description: 'True when closeRun arrived for a run whose startRun was never seen.' })
  @Column({ type: 'boolean', default: false })
  startMissed: boolean;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'int', nullable: true })
  eventCount: number | null;

  @Field(() => Float, { nullable: true })
  @Column({ type: 'double', nullable: true })
  exposureSeconds: number | null;

  @Field(() => GraphQLJSON, {
    description: 'ODB-derived detector settings (HV demands, gas flow, trigger…).',
  })
  @JsonColumn({ default: '{}' })
  attributes: JsonObject;

  @Field(() => RecoStatus)
  @EnumColumn(RecoStatus, RecoStatus.NONE)
  recoStatus: RecoStatus;

  @Field(() => Int, {
    nullable: true,
    description:
      'The reconstruction version physicists see (clusters, summaries, DQ): set by the online reconstruction, changed only by promoteCampaign.',
  })
  @Column({ type: 'int', nullable: true })
  recoVersion: number | null;

  @Field(() => Int, {
    description:
      'Camera images the live reconstruction reconstructed while the run was open (their clusters went to eventReconstructed subscribers).',
  })
  @Column({ type: 'int', default: 0 })
  liveImages: number;

  @Field(() => Int, {
    description:
      'Camera images the live reconstruction skipped because they came faster than it could reconstruct them, or before a pedestal map existed; the RECONSTRUCT at closeRun reconstructs every image anyway.',
  })
  @Column({ type: 'int', default: 0 })
  liveSkipped: number;

  @Field(() => GraphQLJSON, {
    nullable: true,
    description:
      'DQ metrics of the images reconstructed live so far (noise, spark and cluster rates…), updated as the run goes; null before the first.',
  })
  @JsonColumn({ nullable: true })
  liveMetrics: JsonObject | null;

  @Field(() => String, {
    nullable: true,
    description:
      'Why the live reconstruction of this run stopped or is incomplete (file shortened or replaced, truncated, a declared file it never saw); an alarm was raised.',
  })
  @Column({ type: 'varchar', length: 500, nullable: true })
  liveError: string | null;

  @Field(() => QualityStatus, { description: 'Summary of the current quality flags.' })
  @EnumColumn(QualityStatus, QualityStatus.UNKNOWN)
  quality: QualityStatus;

  @Field(() => Date)
  @CreatedAtColumn()
  createdAt: Date;

  @Field(() => Date)
  @UpdatedAtColumn()
  updatedAt: Date;
}
