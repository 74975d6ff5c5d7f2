import { Readable } from 'node:stream';
import type { Database } from '../db/Database';
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

  /** The newest preview of each run, in one statement. */
  latestOfRuns(runIds: readonly number[]): Promise<EventPreview[]> {
    return this.db.manager
      .createQueryBuilder(EventPreview, 'p')
      .where((qb) => {
        const newest = qb
          .subQuery()
          .select('MAX(q.id)')
          .from(EventPreview, 'q')
          .where('q.runId IN (:...runIds)')
          .groupBy('q.runId')
          .getQuery();
        return `p.id IN ${newest}`;
      })
      .setParameter('runIds', [...runIds])
      .getMany();
  }

  /** The previews of these events (reconstruction makes at most one per event and version). */
  ofEvents(eventIds: readonly number[]): Promise<EventPreview[]> {
    return this.db.manager
      .createQueryBuilder(EventPreview, 'p')
      .where('p.eventId IN (:...eventIds)', { eventIds: [...eventIds] })
      .orderBy('p.id', 'ASC')
      .getMany();
  }

  url(preview: EventPreview): Promise<string> {
    return this.store.presign(preview.objectKey, URL_TTL_SECONDS);
  }
}
