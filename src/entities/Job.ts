import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { GraphQLJSON } from 'graphql-scalars';
import { JobKind, JobState } from '../schema/enums';
import {
  CreatedAtColumn,
  DateTimeColumn,
  EnumColumn,
  JsonColumn,
  UpdatedAtColumn,
  type JsonObject,
} from './columns';

/**
 * A unit of pipeline work in the durable queue. Unique per (kind, subject, version), so the
 * same cause can never enqueue the same work twice; a lease marks which worker holds it.
 */
@ObjectType({ simpleResolvers: true, description: 'A pipeline job.' })
@Entity('jobs')
@Index(['kind', 'subject', 'version'], { unique: true })
@Index(['state', 'nextAttemptAt'])
@Index(['runId'])
@Index(['runNumber'])
export class Job {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => JobKind)
  @Column({ type: 'varchar', length: 32 })
  kind: JobKind;

  @Field({ description: 'What the job works on, e.g. "run:1234".' })
  @Column({ type: 'varchar', length: 255 })
  subject: string;

  @Field(() => Int)
  @Column({ type: 'int', default: 1 })
  version: number;

  @Field(() => Int, { nullable: true })
  @Column({ type: 'int', nullable: true })
  runId: number | null;

  /** Denormalised so that job lists and subscriptions filter on run numbers without a join. */
  @Field(() => Int, { nullable: true })
  @Column({ type: 'int', nullable: true })
  runNumber: number | null;

  @Field(() => JobState)
  @EnumColumn(JobState, JobState.QUEUED)
  state: JobState;

  @Field(() => Float, { description: 'Progress from 0 to 1.' })
  @Column({ type: 'double', default: 0 })
  progress: number;

  @Field(() => Int)
  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Field(() => Int)
  @Column({ type: 'int', default: 5 })
  maxAttempts: number;

  @Field(() => Date)
  @DateTimeColumn()
  nextAttemptAt: Date;

  @Field(() => String, { nullable: true, description: 'Worker holding the lease.' })
  @Column({ type: 'varchar', length: 128, nullable: true })
  leaseOwner: string | null;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  leaseUntil: Date | null;

  @Field()
  @Column({ type: 'boolean', default: false })
  cancelRequested: boolean;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  @Field(() => GraphQLJSON)
  @JsonColumn({ default: '{}' })
  payload: JsonObject;

  @Field(() => GraphQLJSON, { nullable: true })
  @JsonColumn({ nullable: true })
  result: JsonObject | null;

  @Field(() => Date)
  @CreatedAtColumn()
  createdAt: Date;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  startedAt: Date | null;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  finishedAt: Date | null;

  @Field(() => Date)
  @UpdatedAtColumn()
  updatedAt: Date;
}
