import type { GraphQLResolveInfo } from 'graphql';
import {
  Arg,
  Args,
  Authorized,
  Ctx,
  ID,
  Info,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { Role } from '../auth/roles';
import type { GatewayContext } from '../context';
import { Alarm } from '../entities/Alarm';
import { AlarmRule } from '../entities/AlarmRule';
import { Silence } from '../entities/Silence';
import { Topic } from '../pubsub';
import {
  AlarmEvent,
  AlarmFilterInput,
  AlarmRuleInput,
  RaiseAlarmInput,
  SilenceInput,
} from '../schema/alarms';
import { AlarmConnection, PageArgs } from '../schema/connection';
import { Severity } from '../schema/enums';
import { SEVERITY_RANK } from '../services/AlarmService';
import { selectsField } from './selection';
import { rowId } from './ids';

@Resolver(() => Alarm)
export class AlarmResolver {
  @Query(() => AlarmConnection, { description: 'Alarms, newest first.' })
  alarms(
    @Arg('filter', () => AlarmFilterInput, { nullable: true }) filter: AlarmFilterInput | null,
    @Args() page: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.services.alarms.list(filter, page, { withTotal: selectsField(info, 'totalCount') });
  }

  @Authorized(Role.DAQ, Role.SHIFTER)
  @Mutation(() => Alarm, { description: 'Raises (or repeats) an alarm from an external source.' })
  raiseAlarm(@Arg('input') input: RaiseAlarmInput, @Ctx() ctx: GatewayContext): Promise<Alarm> {
    return ctx.services.alarms.raise({ ...input, labels: input.labels ?? {} });
  }

  @Authorized(Role.DAQ, Role.SHIFTER)
  @Mutation(() => Alarm, {
    nullable: true,
    description:
      'Resolves the open alarm of a fingerprint (an external source saw its condition clear); null when none is open.',
  })
  resolveAlarm(
    @Arg('fingerprint') fingerprint: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<Alarm | null> {
    return ctx.services.alarms.resolve(fingerprint);
  }

  @Authorized(Role.SHIFTER)
  @Mutation(() => Alarm, { description: 'A shifter takes a FIRING alarm in hand.' })
  acknowledgeAlarm(
    @Arg('id', () => ID) id: string,
    @Arg('comment', () => String, { nullable: true }) comment: string | null,
    @Ctx() ctx: GatewayContext,
  ): Promise<Alarm> {
    return ctx.services.alarms.acknowledge(rowId(id, 'an alarm'), ctx.principal, comment);
  }

  @Authorized(Role.SHIFTER)
  @Mutation(() => Silence, { description: 'Mutes dispatch of matching alarms for a while.' })
  createSilence(@Arg('input') input: SilenceInput, @Ctx() ctx: GatewayContext): Promise<Silence> {
    return ctx.services.silences.create(input, ctx.principal);
  }

  @Authorized(Role.SHIFTER)
  @Mutation(() => Silence, {
    description: 'Ends a silence now (CONFLICT when it has ended already).',
  })
  expireSilence(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Silence> {
    return ctx.services.silences.expire(rowId(id, 'a silence'));
  }

  @Query(() => [AlarmRule])
  alarmRules(@Ctx() ctx: GatewayContext): Promise<AlarmRule[]> {
    return ctx.services.alarmRules.list();
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => AlarmRule, { description: 'Creates a rule, or replaces the rule of that name.' })
  setAlarmRule(
    @Arg('input') input: AlarmRuleInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<AlarmRule> {
    return ctx.services.alarmRules.upsert(input);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Boolean, { description: 'Deletes a rule; its open alarms stay until resolved.' })
  deleteAlarmRule(@Arg('name') name: string, @Ctx() ctx: GatewayContext): Promise<boolean> {
    return ctx.services.alarmRules.remove(name);
  }

  @Subscription(() => AlarmEvent, {
    topics: Topic.AlarmEvent,
    filter: ({ payload, args }: { payload: AlarmEvent; args: { minSeverity?: Severity | null } }) =>
      !args.minSeverity || SEVERITY_RANK[payload.alarm.severity] >= SEVERITY_RANK[args.minSeverity],
    description: 'Every alarm change (RAISED, REPEATED, ACKNOWLEDGED, RESOLVED).',
  })
  alarmEvents(
    @Root() event: AlarmEvent,
    @Arg('minSeverity', () => Severity, { nullable: true }) _minSeverity: Severity | null,
  ): AlarmEvent {
    return event;
  }
}
