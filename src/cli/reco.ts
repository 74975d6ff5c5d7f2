import fs from 'node:fs';
import { Transform } from 'node:stream';
import { parseArgs } from 'node:util';
import type { Config } from '../config';
import { cameraImageOf, squareSide } from '../reco/cameraBank';
import { ClusterTable } from '../reco/clusterTable';
import { RunSummary } from '../reco/dq';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { reconstructReduced } from '../reco/reduction/fromReduced';
import { REDUCTION_DEFAULTS } from '../reco/reduction/parameters';
import { readReducedRun, ReducedRunWriter } from '../reco/reduction/reducedRun';
import { binGridOf } from '../reco/reduction/binGrid';
import {
  decodePedestalMap,
  encodePedestalMap,
  PedestalAccumulator,
  RecoInputError,
  type PedestalMap,
} from '../reco/image';
import { readMidasEvents, type MidasEvent } from '../reco/midas';
import { ImagePool, reconstructEvents } from '../reco/parallel';

const USAGE = `usage: cygno-gateway reco FILE [--pedestal FILE] [--out FILE.arrow] [--reduced OUT.npz] [--threads N]

Reconstructs the camera images of a MIDAS run file (plain, .gz or .lz4) offline, with the
gateway's own code and parameters (RECO_PARAMETERS, CAMERA_BANK): the same work as a
RECONSTRUCT job, for a batch queue or a laptop. --pedestal takes a pedestal map (.bin, as the
gateway stores them) or a pedestal run (MIDAS), whose map is computed first. --out writes the
clusters as an Arrow IPC file (pyarrow / pandas.read_feather). --reduced also writes the run's
reduced file (regions of interest, REDUCTION parameters; numpy.load reads it). FILE may be a
reduced file (.npz) instead: it is reconstructed from its regions of interest, against the
pedestal map it was cut with (its md5 is checked). Prints the run's DQ metrics as JSON;
progress goes to stderr.`;

/** Progress on stderr: a bar redrawn in place on a terminal, a line every 10% otherwise. */
class Progress {
  private lastShown = -1;
  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, extra = ''): void {
    const fraction = this.total > 0 ? Math.min(1, done / this.total) : 0;
    if (process.stderr.isTTY) {
      const width = 30;
      const filled = Math.round(fraction * width);
      process.stderr.write(
        `\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(0).padStart(3)}% ${extra}`,
      );
    } else if (Math.floor(fraction * 10) > this.lastShown) {
      this.lastShown = Math.floor(fraction * 10);
      process.stderr.write(`${this.label}: ${(fraction * 100).toFixed(0)}% ${extra}\n`);
    }
  }

  finish(extra = ''): void {
    if (process.stderr.isTTY) {
      this.update(this.total, extra);
      process.stderr.write('\n');
    } else {
      process.stderr.write(`${this.label}: done ${extra}\n`);
    }
  }
}

/**
 * The events of a file, counting the (compressed) bytes read for the progress bar. An event's
 * data is valid until the next is read (ReadOptions.reuseBuffer): both readers here are done
 * with an image before they ask for the next.
 */
function eventsOf(file: string, onBytes: (bytes: number) => void): AsyncGenerator<MidasEvent> {
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      onBytes(bytes);
      callback(null, chunk);
    },
  });
  return readMidasEvents(fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(counter), {
    reuseBuffer: true,
  });
}

/** A stored pedestal map (.bin, as the gateway writes them), rather than a pedestal run. */
function isPedestalMapFile(file: string): boolean {
  const head = Buffer.alloc(8);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, head, 0, 8, 0);
  fs.closeSync(fd);
  return head.toString('latin1') === 'CYGPED01';
}

async function pedestalFrom(file: string, cameraBank: string): Promise<PedestalMap> {
  if (isPedestalMapFile(file)) return decodePedestalMap(fs.readFileSync(file));

  const progress = new Progress('pedestal', fs.statSync(file).size);
  let accumulator: PedestalAccumulator | undefined;
  for await (const event of eventsOf(file, (bytes) => progress.update(bytes))) {
    if (event.kind !== 'DATA') continue;
    const image = cameraImageOf(event, cameraBank);
    if (!image) continue;
    const side = squareSide(image);
    accumulator ??= new PedestalAccumulator(side, side);
    accumulator.add(image);
  }
  progress.finish(`${accumulator?.images ?? 0} images`);
  if (!accumulator) throw new RecoInputError(`${file}: no ${cameraBank} images for a pedestal`);
  return accumulator.result();
}

/** The md5 a reduced file records for its pedestal: of the map file, as the gateway stores it. */
function pedestalMd5(file: string, map: PedestalMap): string {
  const bytes = isPedestalMapFile(file) ? fs.readFileSync(file) : encodePedestalMap(map);
  return createHash('md5').update(bytes).digest('hex');
}

/** `cygno-gateway reco RUN_roi.npz --pedestal MAP.bin`: a reconstruction from a reduced file. */
async function recoFromReduced(
  config: Config,
  file: string,
  pedestalFile: string,
  threads: number,
  out: string | undefined,
): Promise<void> {
  const reduced = readReducedRun(fs.readFileSync(file));
  const pedestal = await pedestalFrom(pedestalFile, config.cameraBank);
  const md5 = pedestalMd5(pedestalFile, pedestal);
  if (reduced.metadata.pedestal.md5 && reduced.metadata.pedestal.md5 !== md5)
    throw new RecoInputError(
      `${file} was cut against a pedestal map with md5 ${reduced.metadata.pedestal.md5}; ${pedestalFile} has ${md5}`,
    );
  const pool = new ImagePool(pedestal, config.recoParameters, threads);
  const summary = new RunSummary();
  const table = new ClusterTable();
  const progress = new Progress('reco (reduced)', reduced.metadata.events);
  let done = 0;
  try {
    for await (const { event, outcome } of reconstructReduced(
      reduced,
      pedestal,
      config.recoParameters,
      pool,
    )) {
      summary.add(outcome.summary, outcome.clusters, 0);
      table.add({ run: reduced.metadata.runNumber, event: event.serial }, outcome.clusters);
      progress.update(++done, `${done} images`);
    }
  } finally {
    await pool.close();
  }
  progress.finish(`${summary.imageCount} images, ${table.length} clusters`);
  if (out) fs.writeFileSync(out, table.toArrowFile());
  const metrics = summary.metrics({ source: true, fe55: config.fe55 });
  process.stdout.write(
    `${JSON.stringify({ file, run: reduced.metadata.runNumber, ...metrics, out: out ?? null }, null, 2)}\n`,
  );
}

/** `cygno-gateway reco FILE …` */
export async function recoCommand(config: Config, argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      pedestal: { type: 'string' },
      out: { type: 'string' },
      reduced: { type: 'string' },
      threads: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new Error(`expected one FILE\n\n${USAGE}`);
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  if (!values.pedestal)
    throw new Error('--pedestal is required: a pedestal map (.bin) or a pedestal run (MIDAS)');
  const threads = values.threads === undefined ? config.recoThreads : Number(values.threads);
  if (!Number.isInteger(threads) || threads < 1 || threads > 64)
    throw new Error(`--threads: expected 1 to 64, got "${values.threads}"`);

  if (file.endsWith('.npz')) {
    if (values.reduced) throw new Error('--reduced: FILE is already a reduced file');
    return recoFromReduced(config, file, values.pedestal, threads, values.out);
  }
  const pedestal = await pedestalFrom(values.pedestal, config.cameraBank);
  const reduction = values.reduced ? (config.reduction ?? REDUCTION_DEFAULTS) : undefined;
  const reduced = reduction ? new ReducedRunWriter() : undefined;
  const pool = new ImagePool(pedestal, config.recoParameters, threads, reduction);
  const summary = new RunSummary();
  const table = new ClusterTable();
  const badImages: string[] = [];
  const progress = new Progress('reco', fs.statSync(file).size);
  let bytes = 0;
  let runNumber = 0;
  const started = performance.now();
  try {
    const events = (async function* () {
      for await (const event of eventsOf(file, (b) => (bytes = b))) {
        if (event.kind === 'BOR') runNumber = event.serial;
        yield { event };
      }
    })();
    for await (const { event, outcome } of reconstructEvents(events, pool, config.cameraBank)) {
      if (outcome instanceof RecoInputError) {
        summary.addBadImage();
        if (badImages.length < 5) badImages.push(outcome.message);
      } else {
        summary.add(outcome.summary, outcome.clusters, event.time);
        table.add({ run: runNumber, event: event.serial }, outcome.clusters);
        if (reduced && outcome.roi) {
          const at = { serial: event.serial, file: path.basename(file), offset: event.offset };
          reduced.add({ ...at, size: 16 + event.dataSize, summary: outcome.summary }, outcome.roi);
        }
      }
      const seconds = (performance.now() - started) / 1000;
      progress.update(
        bytes,
        `${summary.imageCount} images, ${(summary.imageCount / seconds).toFixed(1)}/s`,
      );
    }
  } finally {
    await pool.close();
  }
  progress.finish(`${summary.imageCount} images, ${table.length} clusters`);
  if (values.out) fs.writeFileSync(values.out, table.toArrowFile());
  if (reduced && reduction && values.reduced) {
    const parameters = config.recoParameters;
    const bytes = reduced.finish({
      runNumber,
      recoVersion: parameters.version,
      recoParameters: parameters,
      reduction,
      pedestal: { runNumber: null, md5: pedestalMd5(values.pedestal, pedestal) },
      image: { width: pedestal.width, height: pedestal.height },
      grid: binGridOf(pedestal, parameters),
      reference: { nsigma: parameters.nsigma },
    });
    fs.writeFileSync(values.reduced, Buffer.concat(bytes));
  }
  const metrics = summary.metrics({ source: true, fe55: config.fe55 });
  process.stdout.write(
    `${JSON.stringify({ file, run: runNumber, ...metrics, badImageErrors: badImages, out: values.out ?? null }, null, 2)}\n`,
  );
}
