import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config';
import { Campaign } from '../src/entities/Campaign';
import { Job } from '../src/entities/Job';
import { Topic } from '../src/pubsub';
import { writeSimulatedRun } from '../src/reco/simulation';
import { campaignState } from '../src/services/CampaignService';
import { GatewayServer } from '../src/server';
import { JobExecutor } from '../src/schema/enums';
import { startSlurm } from '../test/support/slurm';

// npm run bench:campaign — issue 18: the same runs reprocessed by the gateway's own workers
// and by Slurm (a real single-node Slurm 22.05 with 2 CPUs, started here), on the same two
// cores, in two shapes: one job at a time with 2 threads (local: WORKERS=1 RECO_THREADS=2;
// Slurm: 2-CPU jobs), and two jobs at a time with 1 thread each (WORKERS=2 RECO_THREADS=1;
// 1-CPU jobs). Campaigns alternate local and Slurm, each reprocessing all the runs under a new
// version; the ratio of their per-run times is the batch path's overhead (scheduling, node
// start-up, claim, inputs by signed URL, upload, import). Submission-to-start latency: from the
// dispatcher's submission (batchState SUBMITTED) to the node's claim through the API. A third
// shape puts all the runs in one batch job (BATCH_RUNS_PER_JOB), paying Slurm's scheduling and
// the node's start-up once per campaign instead of once per run.

const RUNS = Number(process.env.BENCH_RUNS ?? 4);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 20);
const SIDE = Number(process.env.BENCH_SIDE ?? 2304);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const TARGET_OVERHEAD = 0.1;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** How the two cores are used: jobs at once × threads (local) or CPUs (Slurm) per job. */
const SHAPES = [
  { jobs: 1, threads: 2, runsPerJob: 1 },
  { jobs: 1, threads: 2, runsPerJob: RUNS },
  { jobs: 2, threads: 1, runsPerJob: 1 },
];

async function main() {
  console.log(
    `bench:campaign — ${RUNS} runs of ${EVENTS} images ${SIDE}×${SIDE}, ${ROUNDS} rounds; per shape local then Slurm`,
  );
  const slurm = await startSlurm({ cpus: 2 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bench-campaign-'));
  const buffer = path.join(dir, 'buffer');
  fs.mkdirSync(buffer);
  // One deployment (database, stores), its gateway restarted with each shape.
  const start = (shape: (typeof SHAPES)[number]) =>
    GatewayServer.start(
      loadConfig({
        PORT: '0',
        HOST: '127.0.0.1',
        DATABASE_URL: `sqlite:${path.join(dir, 'gateway.sqlite')}`,
        OBJECT_STORE_URL: `file:${path.join(dir, 'objects')}`,
        TAPE_URL: `file:${path.join(dir, 'tape')}`,
        DAQ_BUFFER_DIR: buffer,
        LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
        URL_SIGNING_SECRET: 'bench-campaign-signing-secret',
        WORKERS: String(shape.jobs),
        RECO_THREADS: String(shape.threads),
        JOB_POLL_MS: '100',
        BATCH: 'slurm',
        BATCH_SLURM_REST_URL: slurm.restUrl,
        BATCH_SLURM_USER: 'root',
        BATCH_SLURM_TOKEN: slurm.token,
        BATCH_CPUS: String(shape.threads),
        BATCH_RUNS_PER_JOB: String(shape.runsPerJob),
        BATCH_MEMORY_MB: '4096',
        BATCH_WORKDIR: path.join(slurm.dir, 'jobs'),
        BATCH_POLL_MS: '500',
        ALARM_EVAL_MS: '0',
        PIPELINE_GAUGE_MS: '0',
      }),
    );
  // Every batch attempt's submission and claim, time-stamped here. A campaign's first claim
  // has nothing queued ahead of it: from its submission, that is the batch system's latency.
  const submittedAt = new Map<number, number>();
  const firstClaim = new Map<number, number>();
  const follow = (server: GatewayServer) =>
    server.runtime.pubsub.listen(Topic.JobUpdated, (payload) => {
      const job = payload as Job;
      if (job.batchState === 'SUBMITTED') submittedAt.set(job.id, Date.now());
      const since = submittedAt.get(job.id);
      if (job.batchState === 'RUNNING' && since !== undefined && job.campaignId != null) {
        const latency = Date.now() - since;
        firstClaim.set(
          job.campaignId,
          Math.min(latency, firstClaim.get(job.campaignId) ?? latency),
        );
        submittedAt.delete(job.id);
      }
    });

  let server = await start(SHAPES[0]);
  try {
    const started = Date.now();
    await takeRun(server, 1, true);
    for (let n = 2; n < 2 + RUNS; n++) await takeRun(server, n, false);
    await waitUntil(async () => {
      const done = await server.runtime.db.manager.query(
        `SELECT COUNT(*) AS n FROM runs WHERE recoStatus = 'DONE' AND pedestal = 0`,
      );
      return Number(done[0].n) === RUNS;
    }, 'the online reconstruction');
    console.log(
      `runs written and reconstructed online in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );

    const runNumbers = Array.from({ length: RUNS }, (_, i) => i + 2);
    let nsigma = 1.3;
    for (const shape of SHAPES) {
      const label = `${shape.jobs} job${shape.jobs > 1 ? 's' : ''} × ${shape.threads} thread${shape.threads > 1 ? 's' : ''}, ${shape.runsPerJob} run${shape.runsPerJob > 1 ? 's' : ''} per batch job`;
      await server.close();
      server = await start(shape);
      await follow(server);
      const perRun: Record<'local' | 'slurm', number[]> = { local: [], slurm: [] };
      firstClaim.clear();
      for (let round = 1; round <= ROUNDS; round++) {
        for (const mode of ['local', 'slurm'] as const) {
          nsigma += 0.0001; // a new version each time, the same clusters
          const t0 = Date.now();
          const campaign = await server.runtime.services.campaigns.create(
            {
              runs: { runNumbers },
              parameters: { nsigma },
              executor: mode === 'local' ? JobExecutor.LOCAL : JobExecutor.SLURM,
            },
            { name: 'bench', roles: [] },
          );
          const state = await finished(server, campaign.id);
          const seconds = (Date.now() - t0) / 1000;
          if (state !== 'COMPLETED') throw new Error(`${mode} campaign ended ${state}`);
          perRun[mode].push(seconds / RUNS);
          console.log(
            `${label}  round ${round} ${mode.padEnd(5)} ${seconds.toFixed(1).padStart(6)} s for ${RUNS} runs = ${(seconds / RUNS).toFixed(2)} s per run`,
          );
        }
      }
      const ratios = perRun.slurm.map((s, i) => s / perRun.local[i]);
      const overhead = median(ratios) - 1;
      const latencies = [...firstClaim.values()].sort((a, b) => a - b);
      console.log(
        `${label}: per run local ${median(perRun.local).toFixed(2)} s, Slurm ${median(perRun.slurm).toFixed(2)} s; ` +
          `batch overhead per run ${(overhead * 100).toFixed(1)}% (median of ${ROUNDS} pairs: ${ratios.map((r) => `${((r - 1) * 100).toFixed(1)}%`).join(', ')}; target <= ${TARGET_OVERHEAD * 100}%); ` +
          `submission → claim on the node of a campaign's first job: ${latencies.join(', ')} ms`,
      );
    }
  } finally {
    await server.close();
    await slurm.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function takeRun(server: GatewayServer, runNumber: number, pedestal: boolean) {
  const name = `run${String(runNumber).padStart(5, '0')}.mid.gz`;
  const { md5 } = await writeSimulatedRun(path.join(server.runtime.config.daqBufferDir, name), {
    runNumber,
    events: pedestal ? 5 : EVENTS,
    side: SIDE,
    pedestal,
    gzip: true,
    rateHz: 1,
    startTime: 1_795_600_000 + runNumber * 1000,
  });
  const { runs } = server.runtime.services;
  const bench = { name: 'bench', roles: [] };
  await runs.start(
    { runNumber, description: pedestal ? 'S001:PED:pedestal' : 'S003:DATA:bench', pedestal },
    bench,
  );
  await runs.close({ runNumber, files: [{ path: name, md5 }] }, bench);
}

async function finished(server: GatewayServer, id: number): Promise<string> {
  const { campaigns } = server.runtime.services;
  let state = 'RUNNING';
  await waitUntil(async () => {
    const campaign = await server.runtime.db.manager.findOneByOrFail(Campaign, { id });
    state = campaignState(campaign, (await campaigns.progressOf([id]))[0]);
    return state !== 'RUNNING';
  }, `campaign ${id}`);
  return state;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 1_800_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
