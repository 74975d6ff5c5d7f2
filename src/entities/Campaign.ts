import { Field, ID, Int, ObjectType } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { JobExecutor } from '../schema/enums';
import {
  CreatedAtColumn,
  DateTimeColumn,
  EnumColumn,
  JsonColumn,
  type JsonObject,
} from './columns';

/**
 * A reprocessing campaign (issue 18): one RECONSTRUCT job per selected run, all with one
 * parameter set under one reconstruction version. Its results become what physicists see only
 * when an admin promotes it. A campaign that makes a new version owns it (`newVersion`,
 * unique): two campaigns asked for at once can never take the same new number.
 */
@ObjectType({ description: 'A reprocessing campaign: one reconstruction version over many runs.' })
@Entity('campaigns')
@Index(['newVersion'], { unique: true })
export class Campaign {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 255, nullable: true })
  description: string | null;

  @Field({ description: 'Who asked for it (the principal of the request).' })
  @Column({ type: 'varchar', length: 255 })
  createdBy: string;

  @Field(() => Date)
  @CreatedAtColumn()
  createdAt: Date;

  @Field(() => Int, { description: 'The reconstruction version its results are kept under.' })
  @Column({ type: 'int' })
  version: number;

  /** The version when this campaign made it; null when it runs an existing one again. */
  @Column({ type: 'int', nullable: true })
  newVersion: number | null;

  @Field(() => GraphQLJSON, { description: 'The reconstruction parameters of the version.' })
  @JsonColumn()
  parameters: JsonObject;

  @Field(() => GraphQLJSON, { description: 'The run selection as asked for.' })
  @JsonColumn()
  selection: JsonObject;

  @Field(() => [Int], { description: 'The runs it reconstructs, in order.' })
  @JsonColumn()
  runNumbers: number[];

  @Field(() => JobExecutor)
  @EnumColumn(JobExecutor, JobExecutor.LOCAL)
  executor: JobExecutor;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  cancelledAt: Date | null;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  promotedAt: Date | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 255, nullable: true })
  promotedBy: string | null;
}
