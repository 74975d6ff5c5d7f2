import { Readable } from 'node:stream';
import type { Database } from '../db/Database';
import { Event } from '../entities/Event';
import { EventPreview } from '../entities/EventPreview';
import type { ImagePreview } from '../reco/image/preview';
import { encodeGreyPng } from '../reco/png';
import type { ObjectStore } from '../storage/ObjectStore';
import { derivedKey } from './derivedFiles';

const URL_TTL_SECONDS = 3600;

/** Camera image previews: PNGs in the object store, found per run and per event. */
export class PreviewService {
  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly site: string,
  ) {}

  async save(run: { id: number; runNumber: number }, eventId: number, preview: ImagePreview) {
    const png = encodeGreyPng(preview.width, preview.height, preview.pixels);
    const key = derivedKey(this.site, 'previews', run.runNumber, `_event${eventId}.png`);
    await this.store.put(key, Readable.from([png]), png.length);
    await this.db.write((m) =>
      m.insert(EventPreview, {
        runId: run.id,
        eventId,
        width: preview.width,
        height: preview.height,
        rebin: preview.rebin,
        objectKey: key,
      }),
    );
  }

  latestOfRun(runId: number): Promise<EventPreview | null> {
    return this.db.manager.findOne(EventPreview, { where: { runId }, order: { id: 'DESC' } });
  }

  ofEvent(eventId: number): Promise<EventPreview | null> {
    return this.db.manager.findOne(EventPreview, { where: { eventId }, order: { id: 'DESC' } });
  }

  eventOf(preview: EventPreview): Promise<Event | null> {
    return this.db.manager.findOneBy(Event, { id: preview.eventId });
  }

  url(preview: EventPreview): Promise<string> {
    return this.store.presign(preview.objectKey, URL_TTL_SECONDS);
  }
}
