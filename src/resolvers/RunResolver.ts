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
import type { GraphQLResolveInfo } from 'graphql';
import { Role } from '../auth/roles';
import type { GatewayContext } from '../context';
import { DataFile } from '../entities/DataFile';
import { Job } from '../entities/Job';
import { QualityFlag } from '../entities/QualityFlag';
import { Run } from '../entities/Run';
import { Topic } from '../pubsub';
import { PageArgs, RunConnection } from '../schema/connection';
import { RunOrder } from '../schema/enums';
import { CloseRunInput, RunFilter, StartRunInput } from '../schema/runInputs';
import { FILE_COLUMNS, JOB_COLUMNS, QUALITY_FLAG_COLUMNS, RUN_COLUMNS } from './projections';
import { selectedFields, selectedNodeFields, selectsField } from './selection';

@Resolver(() => Run)
export class RunResolver {
  @Query(() => Run, { nullable: true, description: 'One run by number.' })
  run(
    @Arg('runNumber', () => Int) runNumber: number,
    @Ctx() ctx: GatewayContext,
  ): Promise<Run | null> {
    return ctx.services.runs.findByNumber(runNumber);
  }

  @Query(() => RunConnection, { description: 'Runs, newest first by default.' })
  runs(
    @Arg('filter', () => RunFilter, { nullable: true }) filter: RunFilter | null,
    @Args() page: PageArgs,
    @Arg('orderBy', () => RunOrder, { nullable: true, defaultValue: RunOrder.RUN_NUMBER_DESC })
    orderBy: RunOrder | null,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.services.runs.list(filter, orderBy ?? RunOrder.RUN_NUMBER_DESC, page, {
      withTotal: selectsField(info, 'totalCount'),
      columns: RUN_COLUMNS.for(selectedNodeFields(info)),
    });
  }

  @Authorized(Role.DAQ)
  @Mutation(() => Run, { description: 'The DAQ started a run. Idempotent on runNumber.' })
  startRun(@Arg('input') input: StartRunInput, @Ctx() ctx: GatewayContext): Promise<Run> {
    return ctx.services.runs.start(input, ctx.principal);
  }

  @Authorized(Role.DAQ)
  @Mutation(() => Run, {
    description: 'The DAQ closed a run: registers its files and queues ingestion. Idempotent.',
  })
  closeRun(@Arg('input') input: CloseRunInput, @Ctx() ctx: GatewayContext): Promise<Run> {
    return ctx.services.runs.close(input, ctx.principal);
  }

  @FieldResolver(() => [DataFile])
  files(
    @Root() run: Run,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<DataFile[]> {
    return ctx.loaders.filesByRunId(FILE_COLUMNS.for(selectedFields(info))).load(run.id);
  }

  @FieldResolver(() => Run, {
    nullable: true,
    description:
      'The pedestal run whose map the reconstruction of this run subtracts: the newest pedestal run before it (null for pedestal runs, and before any).',
  })
  pedestalRun(@Root() run: Run, @Ctx() ctx: GatewayContext): Promise<Run | null> | null {
    return run.pedestal ? null : ctx.services.pedestals.pedestalRunBefore(run.runNumber);
  }

  @FieldResolver(() => [QualityFlag], { description: 'The current flag of each subsystem.' })
  qualityFlags(
    @Root() run: Run,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<QualityFlag[]> {
    return ctx.loaders
      .qualityFlagsByRunId(QUALITY_FLAG_COLUMNS.for(selectedFields(info)))
      .load(run.id);
  }

  @FieldResolver(() => [Job])
  jobs(
    @Root() run: Run,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Job[]> {
    return ctx.loaders.jobsByRunId(JOB_COLUMNS.for(selectedFields(info))).load(run.id);
  }

  @Subscription(() => Run, {
    topics: Topic.RunUpdated,
    filter: ({ payload, args }: { payload: Run; args: { runNumber?: number | null } }) =>
      args.runNumber == null || payload.runNumber === args.runNumber,
    description: 'Every change of a run (or of one run).',
  })
  runUpdated(
    @Root() run: Run,
    @Arg('runNumber', () => Int, { nullable: true }) _runNumber?: number,
  ): Run {
    return run;
  }
}
