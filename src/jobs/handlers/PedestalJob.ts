import type { Database } from '../../db/Database';
import { DqMetric } from '../../entities/DqMetric';
import { Run } from '../../entities/Run';
import { cameraImageOf, squareSide } from '../../reco/cameraBank';
import { PedestalAccumulator, pedestalSummary, RecoInputError } from '../../reco/image';
import { FileKind, JobKind } from '../../schema/enums';
import type { DqService } from '../../services/DqService';
import type { PedestalService } from '../../services/PedestalService';
import type { RunService } from '../../services/RunService';
import { derivedKey } from '../../services/derivedFiles';
import { storedEvents } from '../../services/runEvents';
import type { ObjectStore } from '../../storage/ObjectStore';
import { PermanentJobError } from '../errors';
import type { JobContext, JobHandler, JobOutcome } from '../registry';
import { executorOf, provenanceFile } from '../../provenance/record';
import { finishReconstruction, jobRun, rawFilesToRead, withRecoStatus } from './recoRuns';

export interface PedestalOptions {
  site: string;
  cameraBank: string;
  cimax: number;
}

/**
 * PEDESTAL: the camera images of a pedestal run, streamed from the object store, become the
 * per-pixel mean and σ maps that the data runs after it subtract. The map is stored as an
 * object (a PEDESTAL_MAP file of the run); its mean, noise and drift since the previous
 * pedestal run are DQ metrics, judged against the bands (an alarm per metric out of band, in
 * the commit that ends the job).
 */
export class PedestalJob implements JobHandler {
  readonly kind = JobKind.PEDESTAL;

  constructor(
    private readonly db: Database,
    private readonly store: ObjectStore,
    private readonly runs: RunService,
    private readonly pedestals: PedestalService,
    private readonly dq: DqService,
    private readonly options: PedestalOptions,
  ) {}

  async run(context: JobContext): Promise<JobOutcome> {
    const run = await jobRun(this.db, context);
    return withRecoStatus(this.db, this.runs, run, context, () => this.build(run, context));
  }

  private async build(run: Run, context: JobContext): Promise<JobOutcome> {
    const startedAt = new Date();
    const files = await rawFilesToRead(this.db, run);
    const expected = run.eventCount ?? 0;

    let accumulator: PedestalAccumulator | undefined;
    for await (const { event } of storedEvents(this.store, files, context.signal)) {
      if (event.kind !== 'DATA') continue;
      let image: Uint16Array | undefined;
      try {
        image = cameraImageOf(event, this.options.cameraBank);
        if (!image) continue;
        if (!accumulator) {
          const side = squareSide(image);
          accumulator = new PedestalAccumulator(side, side);
        }
        accumulator.add(image);
      } catch (error) {
        if (error instanceof RecoInputError)
          throw new PermanentJobError(
            `pedestal run ${run.runNumber}: ${error.message}`,
            'BAD_IMAGE',
          );
        throw error;
      }
      if (expected > 0) context.progress(Math.min(0.95, accumulator.images / expected));
    }
    if (!accumulator || accumulator.images < 2) {
      throw new PermanentJobError(
        `pedestal run ${run.runNumber}: ${accumulator?.images ?? 0} ${this.options.cameraBank} images, a pedestal needs at least 2`,
        'TOO_FEW_IMAGES',
      );
    }
    const map = accumulator.result();
    const key = derivedKey(this.options.site, 'pedestals', run.runNumber, '_pedmap.bin');
    const stored = await this.pedestals.save(key, map);
    const { mean, noise } = pedestalSummary(map, this.options.cimax);
    const previous = await this.previousPedestalMean(run.runNumber);
    const metrics = {
      pedestalImages: map.images,
      pedestalMean: mean,
      pedestalNoise: noise,
      pedestalDrift: previous == null ? null : mean - previous,
      hotPixels: map.mean.reduce((n, m) => (m >= this.options.cimax ? n + 1 : n), 0),
    };
    return finishReconstruction(
      { runs: this.runs, dq: this.dq },
      {
        run,
        version: context.job.version,
        current: true, // a pedestal map is used by whichever version comes next
        output: {
          kind: FileKind.PEDESTAL_MAP,
          bucket: this.store.bucket,
          objectKey: key,
          ...stored,
        },
        metrics,
        setBy: 'pedestal',
        result: { key, ...metrics, width: map.width, height: map.height },
        provenance: {
          kind: JobKind.PEDESTAL,
          version: context.job.version,
          parameters: { cameraBank: this.options.cameraBank, cimax: this.options.cimax },
          pedestal: null,
          inputs: files.map(provenanceFile),
          executor: executorOf(context.job, 1),
          startedAt,
        },
      },
    );
  }

  /** The mean pedestal of the previous pedestal run, for the drift. */
  private async previousPedestalMean(runNumber: number): Promise<number | null> {
    const previous = await this.pedestals.pedestalRunBefore(runNumber);
    if (!previous) return null;
    const metric = await this.db.manager.findOne(DqMetric, {
      where: { runId: previous.id, name: 'pedestalMean' },
      order: { recoVersion: 'DESC' },
    });
    return metric?.value ?? null;
  }
}
