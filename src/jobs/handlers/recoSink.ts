import type { Database } from '../../db/Database';
import type { Event } from '../../entities/Event';
import type { Run } from '../../entities/Run';
import { ClusterTable } from '../../reco/clusterTable';
import { RunSummary } from '../../reco/dq';
import type { ImageReconstruction } from '../../reco/image';
import { writeResults, type EventResult } from '../../services/recoResults';

/** Events whose results are written per database round trip. */
const WRITE_BATCH = 200;

/**
 * Where a RECONSTRUCT job's per-event results go, whatever it reads (raw files or a reduced
 * one): the run summary for the DQ metrics, the cluster table for the Arrow file, and the
 * database in batches; each event is announced live as it comes.
 */
export class RecoSink {
  readonly summary = new RunSummary();
  readonly table = new ClusterTable();
  readonly badImages: string[] = [];
  private batch: EventResult[] = [];

  constructor(
    private readonly db: Database,
    private readonly run: Run,
    private readonly version: number,
    private readonly announce: (event: Event, outcome: ImageReconstruction) => void,
    /** False for a version that is not the run's current one: summaries go aside. */
    private readonly current = true,
  ) {}

  bad(message: string): void {
    this.summary.addBadImage();
    this.badImages.push(message);
  }

  async add(event: Event, outcome: ImageReconstruction, unixTime: number): Promise<void> {
    this.summary.add(outcome.summary, outcome.clusters, unixTime);
    this.table.add({ run: this.run.runNumber, event: event.serial }, outcome.clusters);
    this.batch.push({ eventId: event.id, summary: outcome.summary, clusters: outcome.clusters });
    this.announce(event, outcome);
    if (this.batch.length >= WRITE_BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    const results = this.batch;
    this.batch = [];
    await this.db.write((m) => writeResults(m, this.run.id, this.version, results, this.current));
  }
}
