import { IsOptional, Matches } from 'class-validator';
import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';

/** Metric names: dotted words, as Graphite and MIDAS history variables are usually named. */
export const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/;

@InputType({ description: 'One sample: slow control, a DAQ rate, a pipeline gauge.' })
export class MetricInput {
  @Field()
  @Matches(METRIC_NAME, {
    message: 'name must be a metric name (letters, digits, _ . : -; at most 128 characters)',
  })
  name: string;

  @Field(() => Float) value: number;

  @Field(() => Date, { nullable: true, description: 'Defaults to now.' })
  @IsOptional()
  time?: Date | null;
}

@ObjectType({ description: 'One bin of a series, computed in the database.' })
export class MetricPoint {
  @Field(() => Date, { description: 'Start of the bin (aligned to the interval).' }) time: Date;
  @Field(() => Float, { nullable: true, description: 'Mean of the bin.' }) value: number | null;
  @Field(() => Float, { nullable: true }) min: number | null;
  @Field(() => Float, { nullable: true }) max: number | null;
  @Field(() => Int) count: number;
}
