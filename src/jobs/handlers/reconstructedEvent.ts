import type { Event } from '../../entities/Event';
import type { Run } from '../../entities/Run';
import type { Topic, TopicPayloads } from '../../pubsub';
import type { ImageReconstruction } from '../../reco/image';

/**
 * What `eventReconstructed` carries: the event with its image summary and clusters, before
 * they reach the database (RECONSTRUCT writes in batches; the live reconstruction never does),
 * so the clusters have provisional negative ids.
 */
export function reconstructedEvent(
  run: Pick<Run, 'id' | 'runNumber'>,
  event: Event,
  outcome: ImageReconstruction,
  version: number,
): TopicPayloads[Topic.EventReconstructed] {
  return {
    ...event,
    runNumber: run.runNumber,
    clusterCount: outcome.clusters.length,
    imageIntegral: outcome.summary.integral,
    imageMean: outcome.summary.mean,
    imageRms: outcome.summary.rms,
    spark: outcome.summary.spark,
    liveClusters: outcome.clusters.map((cluster, k) => ({
      ...cluster,
      id: -(k + 1),
      eventId: event.id,
      runId: run.id,
      recoVersion: version,
    })),
  };
}
