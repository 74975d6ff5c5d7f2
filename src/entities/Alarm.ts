import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { GraphQLJSON } from 'graphql-scalars';
import { AlarmState, Severity } from '../schema/enums';
import { DateTimeColumn, EnumColumn, JsonColumn } from './columns';

/** An alarm, deduplicated by fingerprint, with the acknowledgement MIDAS has. */
@ObjectType({ simpleResolvers: true, description: 'An alarm.' })
@Entity('alarms')
@Index(['fingerprint', 'state'])
@Index(['openFingerprint'], { unique: true })
@Index(['state', 'severity'])
export class Alarm {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field({ description: 'Deduplication key: repeats of an open alarm raise its count.' })
  @Column({ type: 'varchar', length: 128 })
  fingerprint: string;

  /** The fingerprint while the alarm is open, NULL once resolved: unique, so one open per key. */
  @Column({ type: 'varchar', length: 128, nullable: true })
  openFingerprint: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 128, nullable: true })
  rule: string | null;

  @Field()
  @Column({ type: 'varchar', length: 255 })
  name: string;

  @Field(() => Severity)
  @EnumColumn(Severity)
  severity: Severity;

  @Field()
  @Column({ type: 'varchar', length: 128 })
  source: string;

  @Field()
  @Column({ type: 'text' })
  message: string;

  @Field(() => GraphQLJSON)
  @JsonColumn({ default: '{}' })
  labels: Record<string, string>;

  @Field(() => AlarmState)
  @EnumColumn(AlarmState, AlarmState.FIRING)
  state: AlarmState;

  @Field(() => Date) @DateTimeColumn() firstRaisedAt: Date;
  @Field(() => Date) @DateTimeColumn() lastRaisedAt: Date;

  @Field(() => Int)
  @Column({ type: 'int', default: 1 })
  count: number;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 255, nullable: true })
  acknowledgedBy: string | null;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  acknowledgedAt: Date | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  acknowledgeComment: string | null;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  resolvedAt: Date | null;
}
