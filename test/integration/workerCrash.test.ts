import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job } from '../../src/entities/Job';
import { JobKind, JobState } from '../../src/schema/enums';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { writeLargeMidasRun } from '../support/midasFixtures';
import { waitFor } from '../support/wait';

// A real `cygno-gateway worker` process is killed with SIGKILL in the middle of a job; after its
// lease expires a second worker process finishes the job, exactly once.

const CLI = path.join(__dirname, '..', '..', 'bin', 'cygno-gateway.js');
// Long enough that the surviving worker's heartbeats (every third of it) keep their lease while
// MariaDB, s3rver and the other test files load both cores; a lost lease would be claimed again.
const LEASE_MS = 5000;
const EVENTS = 60; // ~640 MB of camera events: copying and hashing them takes seconds

let gw: TestGateway;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'src', 'cli.js'))) {
    throw new Error('dist/ is missing: run the tests with `npm test`, which builds first');
  }
  // One PUT even on S3: s3rver has no multipart upload.
  gw = await startTestGateway({
    env: { WORKERS: '0', JOB_LEASE_MS: String(LEASE_MS), S3_PART_SIZE: String(2 ** 30) },
  });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await gw?.close();
});

function startWorkerProcess(): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [CLI, 'worker', '1'], {
    env: {
      PATH: process.env.PATH,
      DATABASE_URL: gw.config.databaseUrl,
      OBJECT_STORE_URL: gw.config.objectStoreUrl,
      TAPE_URL: gw.config.tapeUrl,
      DAQ_BUFFER_DIR: gw.bufferDir,
      REDIS_URL: gw.config.redisUrl ?? '',
      REDIS_PREFIX: gw.config.redisPrefix,
      JOB_LEASE_MS: String(LEASE_MS),
      S3_PART_SIZE: String(2 ** 30),
      JOB_POLL_MS: '50',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  children.push(child);
  return { child, output: () => output };
}

const logLines = (output: string, msg: string) =>
  output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map(
      (line) =>
        JSON.parse(line) as {
          msg: string;
          time: number;
          workerId?: string;
          jobId?: number;
          kind?: string;
        },
    )
    .filter((line) => line.msg === msg);

describe('a worker killed mid-job', () => {
  it('leaves the job to another worker after the lease expires, which finishes it once', async () => {
    const FILE_SIZE = writeLargeMidasRun(path.join(gw.bufferDir, 'run00051.mid'), 51, EVENTS);
    const closed = await gw.gql(
      `mutation { closeRun(input: { runNumber: 51, files: [{ path: "run00051.mid", sizeBytes: ${FILE_SIZE} }] }) { id } }`,
    );
    expect(closed.errors).toBeUndefined();
    const jobs = () =>
      gw.server.runtime.db.manager.find(Job, { where: { runNumber: 51, kind: JobKind.INGEST } });

    const first = startWorkerProcess();
    const running = await waitFor(
      async () => {
        const [job] = await jobs();
        return job?.state === JobState.RUNNING && job.progress > 0 && job.progress < 0.5
          ? job
          : null;
      },
      'the first worker to be mid-job',
      20_000,
      10,
    );
    expect(running.leaseOwner).toContain(`:${first.child.pid}:`);
    first.child.kill('SIGKILL');
    const killedAt = Date.now();
    await new Promise((resolve) => first.child.once('exit', resolve));

    const second = startWorkerProcess();
    const done = await waitFor(
      async () => {
        const [job] = await jobs();
        return job?.state === JobState.SUCCEEDED ? job : null;
      },
      'the second worker to finish the job',
      90_000, // 640 MB through s3rver on a loaded 2-core machine
    );
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));

    const all = await jobs();
    expect(all).toHaveLength(1);
    expect(done).toMatchObject({ attempts: 2, progress: 1, leaseOwner: null, lastError: null });
    expect(done.result).toMatchObject({
      eventCount: EVENTS,
      files: [
        { name: 'run00051.mid', key: 'LNGS/run00051.mid', sizeBytes: FILE_SIZE, events: EVENTS },
      ],
    });

    // The second worker claimed the job once, and only after the first one's lease ran out.
    // (Its RECONSTRUCT follow-up is claimed too; only the INGEST claims matter here.)
    const claims = logLines(second.output(), 'job claimed').filter((l) => l.kind === 'INGEST');
    expect(claims).toHaveLength(1);
    expect(claims[0].time).toBeGreaterThanOrEqual(new Date(running.leaseUntil!).getTime());
    expect(claims[0].time).toBeGreaterThan(killedAt);
    expect(
      logLines(second.output(), 'job succeeded').filter((l) => l.kind === 'INGEST'),
    ).toHaveLength(1);
    expect(logLines(first.output(), 'job succeeded')).toHaveLength(0);
    const fileRow = (
      await gw.gql(
        `{ run(runNumber: 51) { files { localState cloudState objectKey sizeBytes md5 } } }`,
      )
    ).data.run.files[0];
    expect(fileRow).toMatchObject({
      localState: 'PRESENT',
      cloudState: 'AVAILABLE',
      objectKey: 'LNGS/run00051.mid',
      sizeBytes: FILE_SIZE,
      md5: done.result!.files[0].md5,
    });
    // Ingested once: one index entry per event, one object, nothing registered twice.
    const [{ count }] = await gw.server.runtime.db.manager.query(
      'SELECT COUNT(*) AS count FROM events WHERE runId = (SELECT id FROM runs WHERE runNumber = 51)',
    );
    expect(Number(count)).toBe(EVENTS);
    expect((await gw.server.runtime.store.stat('LNGS/run00051.mid'))?.size).toBe(FILE_SIZE);
  }, 150_000);
});
