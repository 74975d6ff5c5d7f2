import { Field, Float, InputType, Int, ObjectType } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { ArrayMaxSize, IsOptional, MaxLength } from 'class-validator';
import { JobExecutor } from './enums';
import { RunFilter } from './runInputs';

@InputType({
  description:
    'The runs of a campaign: a list, a range, a filter, or several of them (all must hold). Data runs only: pedestal runs keep their maps.',
})
export class CampaignRunSelection {
  @Field(() => [Int], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(100_000)
  runNumbers?: number[] | null;

  @Field(() => Int, { nullable: true }) from?: number | null;
  @Field(() => Int, { nullable: true }) to?: number | null;
  @Field(() => RunFilter, { nullable: true }) filter?: RunFilter | null;
}

@InputType({ description: 'A reprocessing campaign to start.' })
export class ReprocessInput {
  @Field(() => CampaignRunSelection)
  runs: CampaignRunSelection;

  @Field(() => GraphQLJSON, {
    nullable: true,
    description:
      'Reconstruction parameters on top of the configured ones (RECO_PARAMETERS): a new version is made for them. Give this or version.',
  })
  parameters?: Record<string, unknown> | null;

  @Field(() => Int, {
    nullable: true,
    description: "An existing version to run again (the configured one, or an earlier campaign's).",
  })
  version?: number | null;

  @Field(() => JobExecutor, {
    nullable: true,
    description: 'Where its jobs run; default: the batch system configured (BATCH), else LOCAL.',
  })
  executor?: JobExecutor | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(255)
  description?: string | null;
}

@ObjectType({ description: "A campaign's jobs by state." })
export class CampaignProgress {
  @Field(() => Int) total: number;
  @Field(() => Int) queued: number;
  @Field(() => Int) running: number;
  @Field(() => Int) done: number;
  @Field(() => Int) failed: number;
  @Field(() => Int) cancelled: number;
  @Field(() => Float, { description: 'Finished jobs (done, failed, cancelled) over all.' })
  fraction: number;
}
