import { Arg, Authorized, Ctx, FieldResolver, Int, Mutation, Resolver, Root } from 'type-graphql';
import { Role } from '../auth/roles';
import type { GatewayContext } from '../context';
import { DqMetric } from '../entities/DqMetric';
import { QualityFlag } from '../entities/QualityFlag';
import { Run } from '../entities/Run';
import { QualityFlagInput } from '../schema/qualityInputs';

@Resolver(() => Run)
export class QualityResolver {
  @Authorized(Role.SHIFTER)
  @Mutation(() => QualityFlag, {
    description:
      "Records a shifter's verdict on a subsystem of a run (a new row: the history keeps every change). " +
      'A global flag is the run sign-off and decides the run quality.',
  })
  async setQualityFlag(
    @Arg('input') input: QualityFlagInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<QualityFlag> {
    const { flag, runId } = await ctx.services.quality.setByShifter(input, ctx.principal);
    await ctx.services.runs.publish(runId);
    return flag;
  }

  @FieldResolver(() => [QualityFlag], {
    description: 'Every change of the quality flags, oldest first; optionally of one subsystem.',
  })
  qualityHistory(
    @Root() run: Run,
    @Arg('subsystem', () => String, { nullable: true }) subsystem: string | null,
    @Ctx() ctx: GatewayContext,
  ): Promise<QualityFlag[]> {
    return ctx.loaders.qualityHistoryByRunId(subsystem ?? null).load(run.id);
  }

  @FieldResolver(() => [DqMetric], {
    description:
      'Data-quality metrics of a reconstruction version (default: the newest the run has).',
  })
  dqMetrics(
    @Root() run: Run,
    @Arg('recoVersion', () => Int, { nullable: true }) recoVersion: number | null,
    @Ctx() ctx: GatewayContext,
  ): Promise<DqMetric[]> {
    return ctx.loaders.dqMetricsByRunId(recoVersion ?? null).load(run.id);
  }
}
