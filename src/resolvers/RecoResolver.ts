import type { GraphQLResolveInfo } from 'graphql';
import {
  Arg,
  Args,
  Authorized,
  Ctx,
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
import type { LiveEvent } from './EventResolver';
import { selectsField } from './selection';

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

  @Authorized(Role.SHIFTER)
  @Mutation(() => Job, {
    description:
      'Queues the reconstruction of a run with the current parameter version (PEDESTAL for pedestal runs). ' +
      'An existing job of that version is returned; force runs a finished one again.',
  })
  reconstructRun(
    @Arg('runNumber', () => Int) runNumber: number,
    @Arg('force', () => Boolean, { nullable: true, defaultValue: false }) force: boolean,
    @Ctx() ctx: GatewayContext,
  ): Promise<Job> {
    return ctx.services.reco.request(runNumber, force);
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
