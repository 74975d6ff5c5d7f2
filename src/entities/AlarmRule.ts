import { Field, Float, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, PrimaryGeneratedColumn, Index } from 'typeorm';
import { GraphQLJSON } from 'graphql-scalars';
import { AlarmRuleKind, Severity } from '../schema/enums';
import { CreatedAtColumn, EnumColumn, JsonColumn, UpdatedAtColumn } from './columns';

/** When to raise an alarm: a threshold held for a duration, a missing heartbeat, a pipeline failure, a DQ band. */
@ObjectType({ simpleResolvers: true, description: 'An alarm rule.' })
@Entity('alarm_rules')
export class AlarmRule {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field()
  @Index({ unique: true })
  @Column({ type: 'varchar', length: 128 })
  name: string;

  @Field(() => AlarmRuleKind)
  @EnumColumn(AlarmRuleKind)
  kind: AlarmRuleKind;

  @Field(() => String, {
    nullable: true,
    description: 'Metric name for THRESHOLD/HEARTBEAT/DQ_BAND rules.',
  })
  @Column({ type: 'varchar', length: 128, nullable: true })
  metric: string | null;

  @Field(() => Float, { nullable: true }) @Column({ type: 'double', nullable: true }) below:
    number | null;
  @Field(() => Float, { nullable: true }) @Column({ type: 'double', nullable: true }) above:
    number | null;

  @Field(() => Int, {
    description: 'Seconds the condition must hold (or the heartbeat be missing).',
  })
  @Column({ type: 'int', default: 0 })
  forSeconds: number;

  @Field(() => Severity)
  @EnumColumn(Severity, Severity.WARNING)
  severity: Severity;

  @Field(() => GraphQLJSON)
  @JsonColumn({ default: '{}' })
  labels: Record<string, string>;

  @Field()
  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @Field(() => Date) @CreatedAtColumn() createdAt: Date;
  @Field(() => Date) @UpdatedAtColumn() updatedAt: Date;
}
