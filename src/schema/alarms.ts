import { IsOptional, Matches, MaxLength } from 'class-validator';
import { GraphQLJSON } from 'graphql-scalars';
import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';
import { Alarm } from '../entities/Alarm';
import { AlarmEventType, AlarmRuleKind, AlarmState, Severity } from './enums';

@ObjectType({ description: 'A change of an alarm.' })
export class AlarmEvent {
  @Field(() => AlarmEventType) type: AlarmEventType;
  @Field(() => Alarm) alarm: Alarm;
}

@InputType({ description: 'Which alarms to list.' })
export class AlarmFilterInput {
  @Field(() => [AlarmState], { nullable: true }) states?: AlarmState[] | null;
  @Field(() => Severity, { nullable: true }) minSeverity?: Severity | null;
  @Field(() => String, { nullable: true }) source?: string | null;
  @Field(() => Date, { nullable: true, description: 'Raised (or repeated) at or after.' })
  since?: Date | null;
}

@InputType({
  description: 'An alarm from an external source (a DAQ program, a slow-control script).',
})
export class RaiseAlarmInput {
  @Field(() => String, {
    nullable: true,
    description:
      'Deduplication key: raising it again while open counts a repeat. Optional: without it the key is derived from source, name and labels (the same three, in any label order, are the same alarm).',
  })
  @IsOptional()
  @Matches(/^[\w.:/@-]{1,128}$/, { message: 'fingerprint: 1–128 letters, digits or _.:/@-' })
  fingerprint?: string | null;
  @Field() @MaxLength(255) name: string;
  @Field(() => Severity) severity: Severity;
  @Field() @MaxLength(128) source: string;
  @Field() @MaxLength(4000) message: string;
  @Field(() => GraphQLJSON, { nullable: true }) @IsOptional() labels?: Record<
    string,
    string
  > | null;
}

@InputType({ description: 'Mutes dispatch of alarms whose labels match, for a time window.' })
export class SilenceInput {
  @Field(() => GraphQLJSON, {
    description: 'Label → exact value or /regex/ (alertname, source and severity are labels too).',
  })
  matchers: Record<string, string>;
  @Field(() => Date, { nullable: true, description: 'Defaults to now.' }) startsAt?: Date | null;
  @Field(() => Date) endsAt: Date;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(4000) comment?: string | null;
}

@InputType({ description: 'An alarm rule (created, or replaced by name).' })
export class AlarmRuleInput {
  @Field()
  @Matches(/^[\w.:-]{1,128}$/, { message: 'name: 1–128 letters, digits or _.:-' })
  name: string;
  @Field(() => AlarmRuleKind) kind: AlarmRuleKind;
  @Field(() => String, {
    nullable: true,
    description: 'THRESHOLD/HEARTBEAT: the metric. PIPELINE: failed-job, backlog.',
  })
  metric?: string | null;
  @Field(() => Float, { nullable: true }) below?: number | null;
  @Field(() => Float, { nullable: true }) above?: number | null;
  @Field(() => Int, { nullable: true, defaultValue: 0 }) forSeconds?: number | null;
  @Field(() => Severity, { nullable: true, defaultValue: Severity.WARNING })
  severity?: Severity | null;
  @Field(() => GraphQLJSON, { nullable: true }) labels?: Record<string, string> | null;
  @Field(() => Boolean, { nullable: true, defaultValue: true }) enabled?: boolean | null;
}
