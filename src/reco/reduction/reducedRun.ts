import type { ImageSummary } from '../image/reconstruct';
import type { RecoParameters } from '../image/parameters';
import { decodeNpy, NpzWriter, readZip, StreamedArray, type NpyArray } from './npz';
import type { ReductionParameters } from './parameters';
import type { BinGrid, RoiImage } from './roi';

export const REDUCED_FORMAT = 'cygno-roi';
export const REDUCED_FORMAT_VERSION = 1;

/** What a reduced file says of itself (its `metadata.json`): all a re-reconstruction needs. */
export interface ReducedMetadata {
  format: typeof REDUCED_FORMAT;
  formatVersion: number;
  runNumber: number;
  /** The reconstruction that cut it: its parameter version and parameters. */
  recoVersion: number;
  recoParameters: RecoParameters;
  reduction: ReductionParameters;
  /** The pedestal map the pixels are relative to. */
  pedestal: { runNumber: number | null; md5: string | null };
  image: { width: number; height: number };
  grid: BinGrid;
  /**
   * How a pixel value maps back to the raw one: raw = value + reference, with reference =
   * min(round(mean), floor(mean + nsigma·σ)) of the pedestal map at the reconstruction's nsigma.
   */
  reference: { nsigma: number };
  /** Raw files the events came from (`file` indexes this list). */
  files: string[];
  events: number;
  pixels: number;
  bins: number;
}

/** One event of a reduced file. */
export interface ReducedEvent {
  serial: number;
  /** The event's raw bytes: file (name), offset and size, as in the event index. */
  file: string;
  offset: number;
  size: number;
  /** The summary of the full image, kept because the full image is not. */
  summary: ImageSummary;
  roi: RoiImage;
}

/** Collects the events of a run as they are reconstructed; `finish` gives the `.npz` bytes. */
export class ReducedRunWriter {
  private readonly serials: number[] = [];
  private readonly fileIndex: number[] = [];
  private readonly offsets: bigint[] = [];
  private readonly sizes: number[] = [];
  private readonly summaries: ImageSummary[] = [];
  // Deflated as each event comes: the run's kept pixels never sit in memory uncompressed.
  private readonly bins = new StreamedArray(Int32Array);
  private readonly pixels = new StreamedArray(Int16Array);
  private readonly binStart = [0];
  private readonly pixelStart = [0];
  private readonly files: string[] = [];

  add(event: Omit<ReducedEvent, 'roi'>, roi: RoiImage): void {
    let file = this.files.indexOf(event.file);
    if (file < 0) file = this.files.push(event.file) - 1;
    this.serials.push(event.serial);
    this.fileIndex.push(file);
    this.offsets.push(BigInt(event.offset));
    this.sizes.push(event.size);
    this.summaries.push(event.summary);
    this.bins.append(roi.bins);
    this.pixels.append(roi.pixels);
    this.binStart.push(this.binStart[this.binStart.length - 1] + roi.bins.length);
    this.pixelStart.push(this.pixelStart[this.pixelStart.length - 1] + roi.pixels.length);
  }

  get events(): number {
    return this.serials.length;
  }

  finish(
    metadata: Omit<
      ReducedMetadata,
      'format' | 'formatVersion' | 'files' | 'events' | 'pixels' | 'bins'
    >,
  ): Buffer[] {
    const npz = new NpzWriter();
    const column = (pick: (s: ImageSummary) => number) => Float64Array.from(this.summaries, pick);
    npz.addArray('serial', Uint32Array.from(this.serials));
    npz.addArray('file', Int32Array.from(this.fileIndex));
    npz.addArray('offset', BigInt64Array.from(this.offsets));
    npz.addArray('size', Int32Array.from(this.sizes));
    npz.addArray(
      'integral',
      column((s) => s.integral),
    );
    npz.addArray(
      'mean',
      column((s) => s.mean),
    );
    npz.addArray(
      'rms',
      column((s) => s.rms),
    );
    npz.addArray(
      'hits',
      Int32Array.from(this.summaries, (s) => s.hits),
    );
    npz.addArray(
      'hot_pixels',
      Int32Array.from(this.summaries, (s) => s.hotPixels),
    );
    npz.addArray(
      'spark',
      Uint8Array.from(this.summaries, (s) => (s.spark ? 1 : 0)),
      true,
    );
    npz.addArray('bin_start', BigInt64Array.from(this.binStart, BigInt));
    npz.addArray('pixel_start', BigInt64Array.from(this.pixelStart, BigInt));
    npz.addStreamed('bins', this.bins);
    npz.addStreamed('pixels', this.pixels);
    const full: ReducedMetadata = {
      format: REDUCED_FORMAT,
      formatVersion: REDUCED_FORMAT_VERSION,
      ...metadata,
      files: this.files,
      events: this.serials.length,
      bins: this.binStart[this.binStart.length - 1],
      pixels: this.pixelStart[this.pixelStart.length - 1],
    };
    npz.addJson('metadata.json', full);
    return npz.finish();
  }
}

/** A reduced file read back: its metadata and its events, in file order. */
export interface ReducedRun {
  metadata: ReducedMetadata;
  events(): Generator<ReducedEvent>;
}

export class ReducedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReducedFileError';
  }
}

export function readReducedRun(file: Buffer): ReducedRun {
  let members: Map<string, Buffer>;
  try {
    members = readZip(file);
  } catch (error) {
    throw new ReducedFileError(`not a readable reduced file: ${(error as Error).message}`);
  }
  const json = members.get('metadata.json');
  if (!json) throw new ReducedFileError('not a reduced file: no metadata.json');
  const metadata = JSON.parse(json.toString('utf8')) as ReducedMetadata;
  if (metadata.format !== REDUCED_FORMAT || metadata.formatVersion > REDUCED_FORMAT_VERSION)
    throw new ReducedFileError(
      `not a reduced file this gateway reads (format ${String(metadata.format)} ${String(metadata.formatVersion)})`,
    );
  const array = <T extends NpyArray>(name: string): T => {
    const member = members.get(`${name}.npy`);
    if (!member) throw new ReducedFileError(`reduced file without ${name}.npy`);
    return decodeNpy(member).values as T;
  };
  const serial = array<Uint32Array>('serial');
  const fileIndex = array<Int32Array>('file');
  const offset = array<BigInt64Array>('offset');
  const size = array<Int32Array>('size');
  const integral = array<Float64Array>('integral');
  const mean = array<Float64Array>('mean');
  const rms = array<Float64Array>('rms');
  const hits = array<Int32Array>('hits');
  const hot = array<Int32Array>('hot_pixels');
  const spark = array<Uint8Array>('spark');
  const binStart = array<BigInt64Array>('bin_start');
  const pixelStart = array<BigInt64Array>('pixel_start');
  const bins = array<Int32Array>('bins');
  const pixels = array<Int16Array>('pixels');
  if (serial.length !== metadata.events || binStart.length !== serial.length + 1)
    throw new ReducedFileError('reduced file is inconsistent: event counts differ');
  return {
    metadata,
    *events() {
      for (let e = 0; e < serial.length; e++)
        yield {
          serial: serial[e],
          file: metadata.files[fileIndex[e]],
          offset: Number(offset[e]),
          size: size[e],
          summary: {
            integral: integral[e],
            mean: mean[e],
            rms: rms[e],
            hits: hits[e],
            hotPixels: hot[e],
            spark: spark[e] === 1,
          },
          roi: {
            bins: bins.subarray(Number(binStart[e]), Number(binStart[e + 1])),
            pixels: pixels.subarray(Number(pixelStart[e]), Number(pixelStart[e + 1])),
          },
        };
    },
  };
}
