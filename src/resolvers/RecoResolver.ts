import type { GraphQLResolveInfo } from 'graphql';
import {
  Arg,
  Args,
  Authorized,
  Ctx,
  FieldResolver,
  Info,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { Role } from '../auth/roles';
import type { GatewayContext } from '../context';
import { Cluster } from '../entities/Cluster';
import { Event } from '../entities/Event';
import { Job } from '../entities/Job';
import { Topic } from '../pubsub';
import { ClusterConnection, PageArgs } from '../schema/connection';
import { ClusterFilter } from '../schema/filters';
import { RecoSource } from '../schema/enums';
import type { LiveEvent } from './EventResolver';
import { EVENT_COLUMNS, RUN_COLUMNS } from './projections';
import { selectsField } from './selection';
import { SafeIntScalar } from '../schema/scalars';

@Resolver(() => Cluster)
export class RecoResolver {
  @Query(() => ClusterConnection, {
    description: 'Reconstructed clusters across runs, in the order they were written.',
  })
  clusters(
    @Arg('filter', () => ClusterFilter) filter: ClusterFilter,
    @Args() page: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.services.reco.clusters(filter, page, {
      withTotal: selectsField(info, 'totalCount'),
    });
  }

  @FieldResolver(() => Int, { description: 'Number of the run the cluster belongs to.' })
  async runNumber(@Root() cluster: Cluster, @Ctx() ctx: GatewayContext): Promise<number> {
    const run = await ctx.loaders
      .runById(RUN_COLUMNS.for(new Set(['runNumber'])))
      .load(cluster.runId);
    return run!.runNumber;
  }

  @FieldResolver(() => SafeIntScalar, { description: 'MIDAS serial number of its event.' })
  async serial(@Root() cluster: Cluster, @Ctx() ctx: GatewayContext): Promise<number> {
    const event = await ctx.loaders
      .eventById(EVENT_COLUMNS.for(new Set(['serial'])))
      .load(cluster.eventId);
    return event!.serial;
  }

  @Authorized(Role.SHIFTER)
  @Mutation(() => Job, {
    description:
      'Queues the reconstruction of a run with the current parameter version (PEDESTAL for pedestal runs). ' +
      'An existing job of that version is returned; force runs a finished one again.',
  })
  reconstructRun(
    @Arg('runNumber', () => Int) runNumber: number,
    @Arg('force', () => Boolean, { nullable: true, defaultValue: false }) force: boolean,
    @Arg('from', () => RecoSource, {
      nullable: true,
      defaultValue: RecoSource.RAW,
      description:
        "REDUCED: from the run's reduced file (parameters whose thresholds are not below the reduction's), without reading the raw files.",
    })
    from: RecoSource,
    @Ctx() ctx: GatewayContext,
  ): Promise<Job> {
    return ctx.services.reco.request(runNumber, force, from);
  }

  @Subscription(() => Event, {
    topics: Topic.EventReconstructed,
    filter: ({ payload, args }: { payload: LiveEvent; args: { runNumber?: number | null } }) =>
      args.runNumber == null || payload.runNumber === args.runNumber,
    description: 'Each event as it is reconstructed (the live event display).',
  })
  eventReconstructed(
    @Root() event: LiveEvent,
    @Arg('runNumber', () => Int, { nullable: true }) _runNumber: number | null,
  ): LiveEvent {
    return event;
  }
}
