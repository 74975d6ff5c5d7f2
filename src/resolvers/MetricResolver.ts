import {
  Arg,
  Authorized,
  Ctx,
  Int,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { Role } from '../auth/roles';
import type { GatewayContext } from '../context';
import { MetricSample } from '../entities/MetricSample';
import { Topic } from '../pubsub';
import { MetricInput, MetricPoint } from '../schema/metrics';

@Resolver(() => MetricSample)
export class MetricResolver {
  @Authorized(Role.DAQ)
  @Mutation(() => Int, { description: 'Stores samples in bulk; all or none. Returns how many.' })
  recordMetrics(
    @Arg('samples', () => [MetricInput]) samples: MetricInput[],
    @Ctx() ctx: GatewayContext,
  ): Promise<number> {
    return ctx.services.metrics.record(samples);
  }

  @Query(() => [String], { description: 'Every metric with samples, sorted.' })
  metricNames(@Ctx() ctx: GatewayContext): Promise<string[]> {
    return ctx.services.metrics.names();
  }

  @Query(() => [MetricPoint], {
    description:
      'A series binned in the database: mean, min, max and count per bin, bins aligned to the interval, at most maxDataPoints (default 1000).',
  })
  metricSeries(
    @Arg('name') name: string,
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('intervalMs', () => Int, { nullable: true }) intervalMs: number | null,
    @Arg('maxDataPoints', () => Int, { nullable: true }) maxDataPoints: number | null,
    @Ctx() ctx: GatewayContext,
  ): Promise<MetricPoint[]> {
    return ctx.services.metrics.series({ name, from, to, intervalMs, maxDataPoints });
  }

  @Subscription(() => MetricSample, {
    topics: Topic.MetricSample,
    filter: ({ payload, args }: { payload: MetricSample; args: { names?: string[] | null } }) =>
      !args.names?.length || args.names.includes(payload.name),
    description: 'Samples as they are recorded, optionally of some metrics only.',
  })
  metricSamples(
    @Root() sample: MetricSample,
    @Arg('names', () => [String], { nullable: true }) _names: string[] | null,
  ): MetricSample {
    return sample;
  }
}
