import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import type { GatewayContext } from '../context';
import { Event } from '../entities/Event';
import { EventPreview } from '../entities/EventPreview';
import { Run } from '../entities/Run';

@Resolver(() => EventPreview)
export class PreviewResolver {
  @FieldResolver(() => String, { description: 'Where to fetch the PNG (expires in an hour).' })
  url(@Root() preview: EventPreview, @Ctx() ctx: GatewayContext): Promise<string> {
    return ctx.services.previews.url(preview);
  }

  @FieldResolver(() => Event, { nullable: true, description: 'The event shown.' })
  event(@Root() preview: EventPreview, @Ctx() ctx: GatewayContext): Promise<Event | null> {
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
  preview(@Root() event: Event, @Ctx() ctx: GatewayContext): Promise<EventPreview | null> {
    return ctx.loaders.previewByEventId().load(event.id);
  }
}
