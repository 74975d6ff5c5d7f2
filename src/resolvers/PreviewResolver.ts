import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from '../context';
import { Event } from '../entities/Event';
import { EventPreview } from '../entities/EventPreview';
import { Run } from '../entities/Run';
import type { LiveEvent, LivePreview } from './EventResolver';

@Resolver(() => EventPreview)
export class PreviewResolver {
  @FieldResolver(() => String, { description: 'Where to fetch the PNG (expires in an hour).' })
  url(@Root() preview: EventPreview | LivePreview, @Ctx() ctx: GatewayContext): Promise<string> {
    if ('dataUrl' in preview) return Promise.resolve(preview.dataUrl);
    return ctx.services.previews.url(preview);
  }

  @FieldResolver(() => Event, { nullable: true, description: 'The event shown.' })
  event(@Root() preview: EventPreview, @Ctx() ctx: GatewayContext): Promise<Event | null> {
    if (preview.eventId < 0) return Promise.resolve(null); // a live event, not indexed yet
    return ctx.loaders.eventById().load(preview.eventId);
  }
}

@Resolver(() => Run)
export class RunPreviewResolver {
  @FieldResolver(() => EventPreview, {
    nullable: true,
    description: 'The newest camera image preview of the run (the console shows it).',
  })
  latestPreview(@Root() run: Run, @Ctx() ctx: GatewayContext): Promise<EventPreview | null> {
    return ctx.loaders.latestPreviewByRunId().load(run.id);
  }
}

@Resolver(() => Event)
export class EventPreviewResolver {
  @FieldResolver(() => EventPreview, {
    nullable: true,
    description: "A preview of this event's camera image, when reconstruction made one.",
  })
  preview(@Root() event: LiveEvent, @Ctx() ctx: GatewayContext): Promise<EventPreview | null> {
    if (event.livePreview) return Promise.resolve(event.livePreview);
    if (event.id < 0) return Promise.resolve(null);
    return ctx.loaders.previewByEventId().load(event.id);
  }
}
