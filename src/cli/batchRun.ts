/* eslint-disable no-console -- a command-line program: its output is for the batch job log */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { BatchClaim, BatchCompletion } from '../batch/BatchJobService';
import { clusterRow, encodeBatchResults, type BatchEventResult } from '../batch/batchResults';
import { jobIdOfToken } from '../batch/jobTokens';
import { ClusterTable } from '../reco/clusterTable';
import { decodePedestalMap, RecoInputError } from '../reco/image';
import { readMidasEvents, type MidasEvent } from '../reco/midas';
import { ImagePool, reconstructEvents } from '../reco/parallel';

const USAGE = `usage: cygno-gateway batch-run --job ID[,ID…]

Runs reconstruction jobs on a batch node (issue 18), one after the other, speaking to the
gateway over HTTPS only: GATEWAY_URL, and the job-scoped tokens the gateway minted at
submission in CYGNO_JOB_TOKEN (comma separated, one per job). Inputs come through signed URLs,
outputs go through signed upload URLs; RECO_THREADS (default: the batch slot's CPUs) threads
reconstruct. Exit 0: every job completed (or was no longer this node's to run); 3: the gateway
refused every job; 1: a job failed.`;

/** Exit codes a batch system records: the jobs were refused, or an attempt failed. */
const EXIT_REFUSED = 3;
const EXIT_FAILED = 1;

type Outcome = 'completed' | 'refused' | 'failed' | 'withdrawn';

/** `cygno-gateway batch-run --job ID[,ID…]`. */
export async function batchRunCommand(args: string[]): Promise<void> {
  const jobIds = args
    .flatMap((arg, i) => (args[i - 1] === '--job' ? arg.split(',') : []))
    .map(Number);
  if (args.includes('--help') || jobIds.length === 0 || !jobIds.every(Number.isSafeInteger)) {
    console.error(USAGE);
    process.exitCode = 2;
    return;
  }
  const gatewayUrl = (process.env.GATEWAY_URL ?? '').replace(/\/$/, '');
  const tokens = new Map(
    (process.env.CYGNO_JOB_TOKEN ?? '')
      .split(',')
      .filter(Boolean)
      .map((token) => [jobIdOfToken(token), token] as const),
  );
  const missing = jobIds.filter((id) => !tokens.has(id));
  if (!gatewayUrl || missing.length > 0) {
    console.error(
      `batch-run: GATEWAY_URL and a CYGNO_JOB_TOKEN for every job must be set${missing.length ? ` (none for job ${missing.join(', ')})` : ''}`,
    );
    process.exitCode = 2;
    return;
  }
  const pools = new PoolCache();
  const outcomes: Outcome[] = [];
  try {
    for (const jobId of jobIds)
      outcomes.push(await runJob(new BatchApi(gatewayUrl, jobId, tokens.get(jobId)!), pools));
  } finally {
    await pools.close();
  }
  if (outcomes.includes('failed')) process.exitCode = EXIT_FAILED;
  else if (outcomes.every((o) => o === 'refused')) process.exitCode = EXIT_REFUSED;
}

/** One job: claim, reconstruct with heartbeats, complete (or report the failure). */
async function runJob(api: BatchApi, pools: PoolCache): Promise<Outcome> {
  const jobId = api.jobId;
  let claim: BatchClaim;
  try {
    claim = await api.call<BatchClaim>('claim');
  } catch (error) {
    console.error(`batch-run: job ${jobId}: ${(error as Error).message}`);
    return 'refused';
  }
  log(
    `job ${jobId}: run ${claim.job.runNumber} version ${claim.job.version} attempt ${claim.job.attempt}`,
  );
  const aborted = new AbortController();
  let progress = 0;
  const beat = setInterval(() => {
    api
      .call<{ leaseHeld: boolean; cancelRequested: boolean }>('heartbeat', { progress })
      .then((state) => {
        if (!state.leaseHeld)
          aborted.abort(new Error('the gateway gave the job to another attempt'));
        else if (state.cancelRequested) aborted.abort(new Error('the job was cancelled'));
      })
      .catch((error: Error & { status?: number }) => {
        // Refused (token revoked: cancelled or settled elsewhere): this attempt is over.
        if (error.status && error.status < 500) aborted.abort(error);
        else log(`heartbeat failed: ${error.message}`);
      });
  }, claim.heartbeatMs);
  try {
    const completion = await reconstruct(
      claim,
      await pools.poolFor(claim),
      aborted.signal,
      (fraction) => (progress = fraction),
    );
    aborted.signal.throwIfAborted();
    await api.call('complete', completion);
    log(`job ${jobId}: completed`);
    return 'completed';
  } catch (error) {
    const message = (error as Error).message;
    console.error(`batch-run: job ${jobId}: ${message}`);
    // Images of this job may still be in the threads: the next job starts on fresh ones.
    await pools.close();
    if (aborted.signal.aborted) return 'withdrawn';
    await api.call('fail', { message }).catch(() => undefined);
    return 'failed';
  } finally {
    clearInterval(beat);
  }
}

/**
 * The reconstruction threads, kept from one job to the next while the pedestal map and the
 * parameters stay the same (the runs of a campaign mostly share both).
 */
class PoolCache {
  private current?: { key: string; pool: ImagePool };

  async poolFor(claim: BatchClaim): Promise<ImagePool> {
    const key = `${claim.pedestal.md5}:${JSON.stringify(claim.parameters)}`;
    if (this.current?.key === key) return this.current.pool;
    await this.close();
    const pedestalBytes = await download(claim.pedestal.url);
    const md5 = createHash('md5').update(pedestalBytes).digest('hex');
    if (md5 !== claim.pedestal.md5)
      throw new Error(
        `pedestal map of run ${claim.pedestal.runNumber}: md5 ${md5}, expected ${claim.pedestal.md5}`,
      );
    const map = decodePedestalMap(pedestalBytes, true);
    const threads = Number(
      process.env.RECO_THREADS || process.env.SLURM_CPUS_PER_TASK || os.availableParallelism(),
    );
    const pool = new ImagePool(map, claim.parameters, Math.max(1, threads));
    this.current = { key, pool };
    return pool;
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = undefined;
    await current?.pool.close();
  }
}

/** The same reconstruction as the local RECONSTRUCT job, on this node's threads. */
async function reconstruct(
  claim: BatchClaim,
  pool: ImagePool,
  signal: AbortSignal,
  onProgress: (fraction: number) => void,
): Promise<BatchCompletion> {
  const index = new Map(
    claim.events.map(([id, fileId, offset, serial]) => [`${fileId}:${offset}`, { id, serial }]),
  );
  const table = new ClusterTable();
  const events: BatchEventResult[] = [];
  const badImages: string[] = [];
  let done = 0;
  for await (const { item, event, outcome } of reconstructEvents(
    inputEvents(claim, signal),
    pool,
    claim.cameraBank,
  )) {
    onProgress(Math.min(0.97, ++done / Math.max(1, claim.events.length)));
    if (outcome instanceof RecoInputError) {
      badImages.push(outcome.message);
      continue;
    }
    const indexed = index.get(`${item.fileId}:${event.offset}`);
    if (!indexed)
      throw new Error(
        `event at offset ${event.offset} of file ${item.fileId} is not in the run's index`,
      );
    table.add({ run: claim.job.runNumber, event: indexed.serial }, outcome.clusters);
    events.push({
      id: indexed.id,
      serial: indexed.serial,
      time: event.time,
      summary: outcome.summary,
      clusters: outcome.clusters.map(clusterRow),
    });
  }
  const arrow = Buffer.from(table.toArrowFile());
  const results = encodeBatchResults({
    jobId: claim.job.id,
    attempt: claim.job.attempt,
    runNumber: claim.job.runNumber,
    version: claim.job.version,
    pedestal: { runNumber: claim.pedestal.runNumber, md5: claim.pedestal.md5 },
    events,
    badImages,
    executor: {
      host: os.hostname(),
      pid: process.pid,
      node: process.version,
      threads: pool.threads,
    },
  });
  await upload(claim.uploads.clusters, arrow, signal);
  await upload(claim.uploads.results, results, signal);
  return { clusters: described(arrow), results: described(results) };
}

async function* inputEvents(
  claim: BatchClaim,
  signal: AbortSignal,
): AsyncGenerator<{ fileId: number; event: MidasEvent }> {
  for (const input of claim.inputs) {
    const res = await fetch(input.url, { signal });
    if (!res.ok || !res.body)
      throw new Error(`${input.name}: download failed (HTTP ${res.status})`);
    const stream = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    try {
      // Each image is handed to the pool before the next event is read: the buffer is reused.
      for await (const event of readMidasEvents(stream, { reuseBuffer: true }))
        yield { fileId: input.fileId, event };
    } finally {
      stream.destroy();
    }
  }
}

async function download(url: string): Promise<Buffer> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`download failed (HTTP ${res.status})`);
  return Buffer.from(await res.arrayBuffer());
}

async function upload(url: string, bytes: Buffer, signal: AbortSignal): Promise<void> {
  const res = await fetch(url, { method: 'PUT', body: new Uint8Array(bytes), signal });
  if (!res.ok)
    throw new Error(`upload failed (HTTP ${res.status}): ${(await res.text()).slice(0, 300)}`);
}

function described(bytes: Buffer) {
  return { sizeBytes: bytes.length, md5: createHash('md5').update(bytes).digest('hex') };
}

function log(message: string): void {
  console.log(`${new Date().toISOString()} batch-run: ${message}`);
}

/** The gateway's batch routes, with the job-scoped token. */
class BatchApi {
  constructor(
    private readonly url: string,
    readonly jobId: number,
    private readonly token: string,
  ) {}

  async call<T = unknown>(name: string, body: unknown = {}): Promise<T> {
    const res = await fetch(`${this.url}/batch/jobs/${this.jobId}/${name}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) {
      let message = text.slice(0, 500);
      try {
        message = (JSON.parse(text) as { errors: Array<{ message: string }> }).errors[0].message;
      } catch {
        // not the API's error shape: the raw text says it
      }
      throw Object.assign(new Error(`${name}: HTTP ${res.status}: ${message}`), {
        status: res.status,
      });
    }
    return JSON.parse(text) as T;
  }
}
