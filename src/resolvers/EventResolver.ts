import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Ctx, Info, Int, Query, Resolver } from 'type-graphql';
import type { GatewayContext } from '../context';
import { Event } from '../entities/Event';
import { EventConnection, PageArgs } from '../schema/connection';
import { EventFilter } from '../schema/filters';
import { EVENT_COLUMNS } from './projections';
import { selectedNodeFields, selectsField } from './selection';

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
}
