import { Field, Float, ID, ObjectType, registerEnumType } from 'type-graphql';
import { Event } from '../entities/Event';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { Topic } from '../pubsub';
import { AlarmEvent } from './alarms';

export enum GatewayRole {
  PRIMARY = 'PRIMARY',
  REPLICA = 'REPLICA',
}
registerEnumType(GatewayRole, {
  name: 'GatewayRole',
  description: 'PRIMARY writes (lab); REPLICA serves a read-only MariaDB replica (cloud).',
});

export enum ReplicationHealth {
  OK = 'OK',
  LAGGING = 'LAGGING',
  STOPPED = 'STOPPED',
  BROKEN = 'BROKEN',
  UNKNOWN = 'UNKNOWN',
}
registerEnumType(ReplicationHealth, {
  name: 'ReplicationHealth',
  description:
    'OK; LAGGING past the bound; STOPPED (link down or replication stopped: data is old, lag grows); BROKEN (stopped by an error: the replica diverged); UNKNOWN (not yet known).',
});

/** The change-log topics a client may follow (the journal's, less the internal ones). */
export enum ChangeTopic {
  RUN_UPDATED = Topic.RunUpdated,
  JOB_UPDATED = Topic.JobUpdated,
  ALARM_EVENT = Topic.AlarmEvent,
  EVENT_RECONSTRUCTED = Topic.EventReconstructed,
}
registerEnumType(ChangeTopic, { name: 'ChangeTopic' });

@ObjectType({ description: 'How current the data this gateway serves is.' })
export class ReplicationStatus {
  @Field(() => GatewayRole) role: GatewayRole;
  @Field(() => ReplicationHealth) status: ReplicationHealth;
  @Field(() => Float, {
    nullable: true,
    description:
      "Seconds since the newest primary heartbeat this gateway's database holds (0 on the primary; null before the first).",
  })
  seconds: number | null;
  @Field(() => Date, { nullable: true }) heartbeatAt: Date | null;
  @Field(() => ID, {
    nullable: true,
    description: 'The newest change handed to subscribers (resume with changes(after:)).',
  })
  newestChangeId: number | null;
  @Field(() => Date, { nullable: true }) newestChangeAt: Date | null;
  @Field(() => Boolean, { nullable: true, description: 'MariaDB replica IO thread running.' })
  ioRunning: boolean | null;
  @Field(() => Boolean, { nullable: true, description: 'MariaDB replica SQL thread running.' })
  sqlRunning: boolean | null;
  @Field(() => String, { nullable: true }) lastError: string | null;
  @Field(() => Float) maxLagSeconds: number;
  @Field(() => String, { nullable: true, description: 'Where mutations go (replicas).' })
  primaryUrl: string | null;
  @Field(() => Date) checkedAt: Date;
}

@ObjectType({ description: 'One entry of the change log: what changed, numbered in log order.' })
export class Change {
  @Field(() => ID, { description: 'Pass the last one seen as `after` to resume.' }) id: number;
  @Field(() => ChangeTopic) topic: ChangeTopic;
  @Field(() => Date) at: Date;
  @Field(() => Run, { nullable: true }) run: Run | null;
  @Field(() => Job, { nullable: true }) job: Job | null;
  @Field(() => AlarmEvent, { nullable: true }) alarmEvent: AlarmEvent | null;
  @Field(() => Event, { nullable: true }) event: Event | null;
}
