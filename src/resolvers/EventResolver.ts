import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, FieldResolver, Info, Int, Query, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from '../context';
import { Cluster } from '../entities/Cluster';
import type { EventPreview } from '../entities/EventPreview';
import { Event } from '../entities/Event';
import { EventConnection, PageArgs } from '../schema/connection';
import { EventFilter } from '../schema/filters';
import { CLUSTER_COLUMNS, EVENT_COLUMNS, RUN_COLUMNS } from './projections';
import { selectedFields, selectedNodeFields, selectsField } from './selection';

/** What `eventReconstructed` publishes: the event with its run number and fresh clusters. */
export type LiveEvent = Event & {
  runNumber?: number;
  liveClusters?: Cluster[];
  /** From the live reconstruction of an open run: its preview, inline (nothing is stored). */
  livePreview?: LivePreview;
};

/** A preview that travels with its event, the PNG as a data: URL. */
export type LivePreview = EventPreview & { dataUrl: string };

@Resolver(() => Event)
export class EventResolver {
  @Query(() => EventConnection, {
    description: 'The indexed MIDAS events of a run, in file order.',
  })
  events(
    @Arg('runNumber', () => Int) runNumber: number,
    @Arg('filter', () => EventFilter, { nullable: true }) filter: EventFilter | null,
    @Args() page: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.services.events.list(runNumber, filter, page, {
      withTotal: selectsField(info, 'totalCount'),
      columns: EVENT_COLUMNS.for(selectedNodeFields(info)),
    });
  }

  @FieldResolver(() => Int)
  async runNumber(@Root() event: LiveEvent, @Ctx() ctx: GatewayContext): Promise<number> {
    if (event.runNumber != null) return event.runNumber;
    const run = await ctx.loaders
      .runById(RUN_COLUMNS.for(new Set(['runNumber'])))
      .load(event.runId);
    return run!.runNumber;
  }

  @FieldResolver(() => String, {
    description:
      'A signed link (valid for an hour) to this event alone, header and banks as in the raw file: read as a byte range of a plain file, or from the nearest point of the seek index stored with a gzip file, never the whole file.',
  })
  downloadUrl(@Root() event: Event, @Ctx() ctx: GatewayContext): string {
    return ctx.services.eventBytes.downloadUrl(event.id);
  }

  @FieldResolver(() => [Cluster], {
    description: 'Clusters of the current reconstruction version (empty before reconstruction).',
  })
  clusters(
    @Root() event: LiveEvent,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Cluster[] | Promise<Cluster[]> {
    return (
      event.liveClusters ??
      ctx.loaders.clustersByEventId(CLUSTER_COLUMNS.for(selectedFields(info))).load(event.id)
    );
  }
}
