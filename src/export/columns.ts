import { AppError, ErrorCode } from '../errors';

/** How a column travels: its Arrow type (and so its numpy/pandas dtype in the Python client). */
export type ExportType = 'int32' | 'int64' | 'float64' | 'bool' | 'utf8' | 'timestamp';

export interface ExportColumn {
  readonly name: string;
  readonly type: ExportType;
  /** The SQL expression on the export query's aliases (cluster, event); run.* are per-run constants. */
  readonly sql: string;
  readonly nullable: boolean;
  readonly description: string;
}

function column(
  name: string,
  type: ExportType,
  sql: string,
  description: string,
  nullable = false,
): ExportColumn {
  return { name, type, sql, nullable, description };
}

const feature = (name: string, type: 'int32' | 'float64', description: string) =>
  column(name, type, `cluster.${name}`, description);

/**
 * The columns of a cluster export, in their default order. Every row says which run and which
 * reconstruction version it comes from, so a number in a notebook can be traced back.
 */
export const CLUSTER_COLUMNS: readonly ExportColumn[] = [
  column('id', 'int64', 'cluster.id', 'cluster id (as the GraphQL API gives it)'),
  column('runNumber', 'int32', 'run.runNumber', 'run number'),
  column('recoVersion', 'int32', 'cluster.recoVersion', 'reconstruction version'),
  column('eventId', 'int64', 'cluster.eventId', 'id of the event (Event.id)'),
  column('serial', 'int64', 'event.serial', 'MIDAS serial number of the event'),
  feature('integral', 'float64', 'sum of the pedestal-subtracted pixels (ADC)'),
  column('energy', 'float64', 'cluster.energy', 'calibrated energy (keV)', true),
  feature('nhits', 'int32', 'pixels above threshold'),
  feature('size', 'int32', 'pixels in the cluster'),
  feature('length', 'float64', 'length along the principal axis (pixels)'),
  feature('width', 'float64', 'width across the principal axis (pixels)'),
  feature('theta', 'float64', 'angle of the principal axis (rad)'),
  feature('xMean', 'float64', 'intensity-weighted x'),
  feature('yMean', 'float64', 'intensity-weighted y'),
  feature('xMin', 'int32', 'bounding box'),
  feature('xMax', 'int32', 'bounding box'),
  feature('yMin', 'int32', 'bounding box'),
  feature('yMax', 'int32', 'bounding box'),
  feature('rms', 'float64', 'RMS of the pixel intensities'),
  feature('longitudinalRms', 'float64', 'RMS along the principal axis'),
  feature('transverseRms', 'float64', 'RMS across the principal axis'),
];

/**
 * The columns of an event export. `recoVersion` is the version of the reconstruction whose
 * image summaries the row carries (the run's latest successful one; null before any).
 */
export const EVENT_COLUMNS: readonly ExportColumn[] = [
  column('id', 'int64', 'event.id', 'event id (as the GraphQL API gives it)'),
  column('runNumber', 'int32', 'run.runNumber', 'run number'),
  column('recoVersion', 'int32', 'run.recoVersion', 'version of the image summaries', true),
  column('eventId', 'int32', 'event.eventId', 'MIDAS event id'),
  column('serial', 'int64', 'event.serial', 'MIDAS serial number'),
  column('timestamp', 'timestamp', 'event.timestamp', 'event time (UTC, ms)'),
  column('triggerMask', 'int32', 'event.triggerMask', 'MIDAS trigger mask'),
  column('fileOffset', 'int64', 'event.fileOffset', 'offset in the uncompressed raw file'),
  column('sizeBytes', 'int32', 'event.sizeBytes', 'event size (bytes)'),
  column('bankNames', 'utf8', 'event.bankNames', 'banks, comma-separated'),
  column('clusterCount', 'int32', 'event.clusterCount', 'clusters found', true),
  column('imageIntegral', 'float64', 'event.imageIntegral', 'camera image integral', true),
  column('imageMean', 'float64', 'event.imageMean', 'camera image mean', true),
  column('imageRms', 'float64', 'event.imageRms', 'camera image RMS', true),
  column('spark', 'bool', 'event.spark', 'flagged as a GEM spark', true),
];

/** Columns an export does not have: BAD_USER_INPUT naming them (`extensions.unknown`). */
export class UnknownColumnsError extends AppError {
  constructor(unknown: readonly string[], known: readonly ExportColumn[]) {
    super(
      ErrorCode.BAD_USER_INPUT,
      `unknown column${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}; ` +
        `known: ${known.map((c) => c.name).join(', ')}`,
      { field: 'columns', unknown },
    );
  }
}

/** The columns asked for, in the order asked (all of them when none are named). */
export function selectColumns(
  catalog: readonly ExportColumn[],
  names: readonly string[] | undefined,
): ExportColumn[] {
  if (!names || names.length === 0) return [...catalog];
  const unknown = names.filter((name) => !catalog.some((c) => c.name === name));
  if (unknown.length) throw new UnknownColumnsError(unknown, catalog);
  return [...new Set(names)].map((name) => catalog.find((c) => c.name === name)!);
}
