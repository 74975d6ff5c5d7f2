import type { GraphQLResolveInfo } from 'graphql';
import {
  Arg,
  Args,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
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
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';
import { Topic } from '../pubsub';
import { JobConnection, PageArgs } from '../schema/connection';
import { JobKind } from '../schema/enums';
import { JobFilter } from '../schema/filters';
import { JOB_COLUMNS, RUN_COLUMNS } from './projections';
import { selectedFields, selectedNodeFields, selectsField } from './selection';
import { rowId } from './ids';

@Resolver(() => Job)
export class JobResolver {
  @Query(() => JobConnection, { description: 'Pipeline jobs, newest first.' })
  jobs(
    @Arg('filter', () => JobFilter, { nullable: true }) filter: JobFilter | null,
    @Args() page: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.services.jobs.list(filter, page, {
      withTotal: selectsField(info, 'totalCount'),
      columns: JOB_COLUMNS.for(selectedNodeFields(info)),
    });
  }

  @Authorized(Role.SHIFTER)
  @Mutation(() => Job, {
    description: 'Queues a FAILED or CANCELLED job again with fresh attempts.',
  })
  retryJob(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Job> {
    return ctx.services.jobs.retry(rowId(id, 'a job'));
  }

  @Authorized(Role.SHIFTER)
  @Mutation(() => Job, { description: 'Cancels a queued job, or asks a running one to stop.' })
  cancelJob(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Job> {
    return ctx.services.jobs.cancel(rowId(id, 'a job'));
  }

  @FieldResolver(() => Run, { nullable: true })
  run(
    @Root() job: Job,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Run | null> | null {
    return job.runId == null
      ? null
      : ctx.loaders.runById(RUN_COLUMNS.for(selectedFields(info))).load(job.runId);
  }

  @Subscription(() => Job, {
    topics: Topic.JobUpdated,
    filter: ({
      payload,
      args,
    }: {
      payload: Job;
      args: { runNumber?: number | null; kind?: JobKind | null };
    }) =>
      (args.runNumber == null || payload.runNumber === args.runNumber) &&
      (args.kind == null || payload.kind === args.kind),
    description: 'Every change of a job: queued, claimed, progress, success, failure.',
  })
  jobUpdated(
    @Root() job: Job,
    @Arg('runNumber', () => Int, { nullable: true }) _runNumber?: number,
    @Arg('kind', () => JobKind, { nullable: true }) _kind?: JobKind,
  ): Job {
    return job;
  }
}
