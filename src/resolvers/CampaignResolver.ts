import {
  Arg,
  Authorized,
  Ctx,
  FieldResolver,
  ID,
  Mutation,
  Query,
  Resolver,
  Root,
  Subscription,
} from 'type-graphql';
import { Role } from '../auth/roles';
import type { GatewayContext } from '../context';
import { Campaign } from '../entities/Campaign';
import { Job } from '../entities/Job';
import { Topic } from '../pubsub';
import { CampaignProgress, ReprocessInput } from '../schema/campaignInputs';
import { CampaignState } from '../schema/enums';
import { campaignState } from '../services/CampaignService';
import { rowId } from './ids';

@Resolver(() => Campaign)
export class CampaignResolver {
  @Query(() => [Campaign], { description: 'Reprocessing campaigns, newest first.' })
  campaigns(@Ctx() ctx: GatewayContext): Promise<Campaign[]> {
    return ctx.services.campaigns.list();
  }

  @Query(() => Campaign)
  campaign(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Campaign> {
    return ctx.services.campaigns.get(rowId(id, 'a campaign'));
  }

  @Authorized(Role.PRODUCTION)
  @Mutation(() => Campaign, {
    description:
      'Reconstructs the selected runs again under one version (new parameters, or an existing version), one RECONSTRUCT job per run, on the executor given. Its results become current only when promoted.',
  })
  reprocess(
    @Arg('input', () => ReprocessInput) input: ReprocessInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<Campaign> {
    return ctx.services.campaigns.create(input, ctx.principal);
  }

  @Authorized(Role.PRODUCTION)
  @Mutation(() => Campaign, {
    description: 'Cancels what has not finished: queued jobs, running ones and their batch jobs.',
  })
  cancelCampaign(@Arg('id', () => ID) id: string, @Ctx() ctx: GatewayContext): Promise<Campaign> {
    return ctx.services.campaigns.cancel(rowId(id, 'a campaign'));
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => Campaign, {
    description:
      "Makes the campaign's version the current one of its runs (clusters, summaries, DQ flags), in one transaction. Refused while jobs are unfinished, and — unless partial — when any failed.",
  })
  promoteCampaign(
    @Arg('id', () => ID) id: string,
    @Arg('partial', { defaultValue: false }) partial: boolean,
    @Ctx() ctx: GatewayContext,
  ): Promise<Campaign> {
    return ctx.services.campaigns.promote(rowId(id, 'a campaign'), partial, ctx.principal);
  }

  @FieldResolver(() => CampaignState)
  async state(@Root() campaign: Campaign, @Ctx() ctx: GatewayContext): Promise<CampaignState> {
    return campaignState(campaign, await ctx.loaders.campaignProgress().load(campaign.id));
  }

  @FieldResolver(() => CampaignProgress)
  progress(@Root() campaign: Campaign, @Ctx() ctx: GatewayContext): Promise<CampaignProgress> {
    return ctx.loaders.campaignProgress().load(campaign.id);
  }

  @FieldResolver(() => [Job], { description: "The campaign's jobs, one per run." })
  jobs(@Root() campaign: Campaign, @Ctx() ctx: GatewayContext): Promise<Job[]> {
    return ctx.loaders.jobsByCampaignId().load(campaign.id);
  }

  @Subscription(() => Campaign, {
    topics: [Topic.JobUpdated, Topic.CampaignUpdated],
    filter: ({
      payload,
      args,
    }: {
      payload: { campaignId?: number | null };
      args: { id?: string | null };
    }) => payload.campaignId != null && (args.id == null || String(payload.campaignId) === args.id),
    description:
      "A campaign's progress: every change of one of its jobs, and its creation, cancellation and promotion.",
  })
  async campaignUpdated(
    @Root() payload: { campaignId: number },
    @Ctx() ctx: GatewayContext,
    @Arg('id', () => ID, { nullable: true }) _id?: string,
  ): Promise<Campaign> {
    return ctx.services.campaigns.get(payload.campaignId);
  }
}
