import type { EntityManager } from 'typeorm';
import { bulkInsert } from '../db/bulkInsert';
import { isUniqueViolation, type Database } from '../db/Database';
import type { ImageReconstruction } from '../reco/image';

/**
 * The live reconstruction's result for one event, kept until the run's RECONSTRUCT takes it:
 * where the event lies (file, uncompressed offset, size, serial: RECONSTRUCT checks them
 * against the event index, i.e. against the bytes it reads), under which parameter version and
 * pedestal map it was made, and the outcome (summary, clusters, region of interest).
 */
export interface LiveResult {
  runId: number;
  recoVersion: number;
  fileName: string;
  fileOffset: number;
  sizeBytes: number;
  serial: number;
  pedestalMd5: string;
  outcome: ImageReconstruction;
}

const COLUMNS = [
  'runId',
  'recoVersion',
  'fileName',
  'fileOffset',
  'sizeBytes',
  'serial',
  'pedestalMd5',
  'outcome',
] as const;

/**
 * The outcome as JSON; the region of interest's typed arrays as base64. (JSON gives every
 * finite double back exactly, so a stored outcome equals the one computed.)
 */
function encodeOutcome({ summary, clusters, roi }: ImageReconstruction): string {
  const bytes = (array: Int32Array | Int16Array) =>
    Buffer.from(array.buffer, array.byteOffset, array.byteLength).toString('base64');
  return JSON.stringify({
    summary,
    clusters,
    ...(roi ? { roi: { bins: bytes(roi.bins), pixels: bytes(roi.pixels) } } : {}),
  });
}

function decodeOutcome(text: string): ImageReconstruction {
  const parsed = JSON.parse(text) as ImageReconstruction & {
    roi?: { bins: string; pixels: string };
  };
  const typed = <T>(base64: string, make: (buffer: ArrayBuffer) => T): T => {
    const bytes = Buffer.from(base64, 'base64');
    const copy = new ArrayBuffer(bytes.length); // aligned, whatever Buffer's pool gave
    new Uint8Array(copy).set(bytes);
    return make(copy);
  };
  const roi = parsed.roi
    ? {
        bins: typed(parsed.roi.bins, (b) => new Int32Array(b)),
        pixels: typed(parsed.roi.pixels, (b) => new Int16Array(b)),
      }
    : undefined;
  return roi
    ? { summary: parsed.summary, clusters: parsed.clusters, roi }
    : { summary: parsed.summary, clusters: parsed.clusters };
}

/**
 * Stores results. A result stored already (a follower that stalled, lost its lease and went
 * on for a moment beside its successor) is left as it is.
 */
export async function storeLiveResults(db: Database, results: readonly LiveResult[]) {
  if (results.length === 0) return;
  const row = (r: LiveResult) => [
    r.runId,
    r.recoVersion,
    r.fileName,
    r.fileOffset,
    r.sizeBytes,
    r.serial,
    r.pedestalMd5,
    encodeOutcome(r.outcome),
  ];
  try {
    await db.write((manager) => bulkInsert(manager, 'live_results', COLUMNS, results.map(row)));
  } catch (error) {
    if (!isUniqueViolation(error)) throw error;
    for (const result of results) {
      await db
        .write((manager) => bulkInsert(manager, 'live_results', COLUMNS, [row(result)]))
        .catch((one: unknown) => {
          if (!isUniqueViolation(one)) throw one;
        });
    }
  }
}

/**
 * A run's live results of one version, made against this pedestal map, by `${fileName}:${offset}`.
 */
export async function liveResultsOf(
  db: Database,
  runId: number,
  recoVersion: number,
  pedestalMd5: string,
): Promise<Map<string, Pick<LiveResult, 'sizeBytes' | 'serial' | 'outcome'>>> {
  const rows: Array<{
    fileName: string;
    fileOffset: number | string;
    sizeBytes: number;
    serial: number | string;
    outcome: string;
  }> = await db.manager.query(
    'SELECT fileName, fileOffset, sizeBytes, serial, outcome FROM live_results WHERE runId = ? AND recoVersion = ? AND pedestalMd5 = ?',
    [runId, recoVersion, pedestalMd5],
  );
  return new Map(
    rows.map((r) => [
      `${r.fileName}:${Number(r.fileOffset)}`,
      {
        sizeBytes: Number(r.sizeBytes),
        serial: Number(r.serial),
        outcome: decodeOutcome(r.outcome),
      },
    ]),
  );
}

/** Forgets a run's live results of a version, in the commit of the RECONSTRUCT that took them. */
export async function clearLiveResults(
  manager: EntityManager,
  runId: number,
  recoVersion: number,
): Promise<void> {
  await manager.query('DELETE FROM live_results WHERE runId = ? AND recoVersion = ?', [
    runId,
    recoVersion,
  ]);
}
