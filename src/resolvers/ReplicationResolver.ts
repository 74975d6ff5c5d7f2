import { Arg, Ctx, ID, Query, Resolver, Root, Subscription } from 'type-graphql';
import type { GatewayContext } from '../context';
import { Change, ChangeTopic, ReplicationStatus } from '../schema/replication';

@Resolver()
export class ReplicationResolver {
  @Query(() => ReplicationStatus, {
    description:
      "How current this gateway's data is: its role, the replication lag and the newest change it has seen.",
  })
  replicationLag(@Ctx() ctx: GatewayContext): ReplicationStatus {
    return ctx.services.replication.status() as unknown as ReplicationStatus;
  }

  @Subscription(() => Change, {
    subscribe: ({ args, context }) =>
      (context as GatewayContext).services.replication.changes(
        args.after as string | null,
        args.topics as ChangeTopic[] | null,
      ),
    description:
      'Every change from the change log, numbered, in commit order, each once. With `after` (the id of the last change seen) the changes missed since are sent first; an id no longer kept is refused (CHANGE_ID_UNAVAILABLE): re-query, then subscribe without it.',
  })
  changes(
    @Root() change: Change,
    @Arg('after', () => ID, { nullable: true }) _after: string | null,
    @Arg('topics', () => [ChangeTopic], { nullable: true }) _topics: ChangeTopic[] | null,
  ): Change {
    return change;
  }
}
