import { gunzipSync, gzipSync } from 'node:zlib';
import { CLUSTER_FEATURE_NAMES, type ClusterFeatures } from '../reco/image/features';
import type { ImageSummary } from '../reco/image/reconstruct';

/**
 * What a batch attempt hands back besides its Arrow file: every camera event's summary and
 * clusters, keyed by the gateway's event id (JSON numbers are the shortest text that reads
 * back as the same double, so the clusters imported are bit for bit the ones computed).
 */
export interface BatchResults {
  format: typeof FORMAT;
  jobId: number;
  /** The attempt (the job's attempts when it was claimed): a late attempt's results are refused. */
  attempt: number;
  runNumber: number;
  version: number;
  pedestal: { runNumber: number; md5: string };
  events: BatchEventResult[];
  badImages: string[];
  /** Where it ran (the provenance record's executor). */
  executor: { host: string; pid: number; node: string; threads: number };
}

export interface BatchEventResult {
  id: number;
  serial: number;
  /** Event time, unix seconds (the DQ rates). */
  time: number;
  summary: ImageSummary;
  /** Each cluster's features in CLUSTER_FEATURE_NAMES order. */
  clusters: number[][];
}

const FORMAT = 'cygno-batch-results/1';

export function encodeBatchResults(results: Omit<BatchResults, 'format'>): Buffer {
  return gzipSync(JSON.stringify({ format: FORMAT, ...results }));
}

export function decodeBatchResults(bytes: Buffer): BatchResults {
  const parsed = JSON.parse(gunzipSync(bytes).toString('utf8')) as BatchResults;
  if (parsed?.format !== FORMAT) throw new Error(`not ${FORMAT}`);
  if (!Array.isArray(parsed.events) || !Array.isArray(parsed.badImages))
    throw new Error('events and badImages must be arrays');
  for (const event of parsed.events) {
    if (
      !Number.isSafeInteger(event.id) ||
      !Array.isArray(event.clusters) ||
      event.clusters.some(
        (c) =>
          !Array.isArray(c) ||
          c.length !== CLUSTER_FEATURE_NAMES.length ||
          c.some((v) => typeof v !== 'number'),
      )
    )
      throw new Error(`event ${JSON.stringify(event.id)}: malformed result`);
  }
  return parsed;
}

export function clusterRow(cluster: ClusterFeatures): number[] {
  return CLUSTER_FEATURE_NAMES.map((name) => cluster[name]);
}

export function clusterOfRow(row: readonly number[]): ClusterFeatures {
  const cluster = {} as ClusterFeatures;
  CLUSTER_FEATURE_NAMES.forEach((name, k) => (cluster[name] = row[k]));
  return cluster;
}
