import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { GraphQLJSON } from 'graphql-scalars';
import { JobExecutor, JobKind, JobState } from '../schema/enums';
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
@Index(['campaignId'])
@Index(['batchId'])
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

  @Field(() => JobExecutor, { description: "LOCAL: the gateway's workers; else a batch system." })
  @EnumColumn(JobExecutor, JobExecutor.LOCAL)
  executor: JobExecutor;

  @Field(() => Int, { nullable: true, description: 'The reprocessing campaign it belongs to.' })
  @Column({ type: 'int', nullable: true })
  campaignId: number | null;

  @Field(() => String, { nullable: true, description: "The batch system's id of its attempt." })
  @Column({ type: 'varchar', length: 64, nullable: true })
  batchId: string | null;

  @Field(() => String, {
    nullable: true,
    description: "The batch system's state of the attempt (PENDING, RUNNING, TIMEOUT, …).",
  })
  @Column({ type: 'varchar', length: 32, nullable: true })
  batchState: string | null;

  /** SHA-256 of the attempt's job-scoped token; cleared (the token revoked) at settlement. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  batchTokenHash: string | null;

  @DateTimeColumn({ nullable: true })
  batchTokenExpiresAt: Date | null;

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
