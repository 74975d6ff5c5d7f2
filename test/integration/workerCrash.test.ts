import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Job } from '../../src/entities/Job';
import { S3ObjectStore } from '../../src/storage/S3ObjectStore';
import { JobKind, JobState } from '../../src/schema/enums';
import { gatewayProcessEnv, startTestGateway, type TestGateway } from '../support/gateway';
import { writeLargeMidasRun } from '../support/midasFixtures';
import { waitFor } from '../support/wait';

// A real gateway process is killed with SIGKILL in the middle of an ingest; after its lease
// expires the next process finishes the job, exactly once. Both ways of running jobs: a
// `cygno-gateway worker` replaced by another, and the gateway itself (`serve`, with its
// in-process worker) killed and started again.

const CLI = path.join(__dirname, '..', '..', 'bin', 'cygno-gateway.js');
// Long enough that the surviving worker's heartbeats (every third of it) keep their lease while
// MariaDB, s3rver and the other test files load both cores; a lost lease would be claimed again.
const LEASE_MS = 5000;
const EVENTS = 60; // ~640 MB of camera events: copying and hashing them takes seconds
// s3rver has no multipart upload: one PUT there. On Ceph RGW, the production part size: the
// killed process leaves an unfinished multipart upload, which the next one must abort.
const PART_SIZE = String(process.env.TEST_OBJECT_STORE === 'rgw' ? 64 << 20 : 2 ** 30);
// ... once some of its parts are stored.
const KILL_AFTER = process.env.TEST_OBJECT_STORE === 'rgw' ? 0.3 : 0;

let gw: TestGateway;
const children: ChildProcess[] = [];

beforeAll(async () => {
  if (!fs.existsSync(path.join(__dirname, '..', '..', 'dist', 'src', 'cli', 'index.js'))) {
    throw new Error('dist/ is missing: run the tests with `npm test`, which builds first');
  }
  gw = await startTestGateway({
    env: { WORKERS: '0', JOB_LEASE_MS: String(LEASE_MS), S3_PART_SIZE: PART_SIZE },
  });
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await gw?.close();
});

type Command = ['worker', '1'] | ['serve'];

function startGatewayProcess(command: Command): { child: ChildProcess; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [CLI, ...command], {
    env: {
      ...gatewayProcessEnv(gw),
      REDIS_URL: gw.config.redisUrl ?? '',
      REDIS_PREFIX: gw.config.redisPrefix,
      JOB_LEASE_MS: String(LEASE_MS),
      S3_PART_SIZE: PART_SIZE,
      JOB_POLL_MS: '50',
      WORKERS: '1',
      PORT: '0',
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
          key?: string;
        },
    )
    .filter((line) => line.msg === msg);

describe.each([
  {
    what: 'a worker process killed mid-ingest',
    outcome: 'leaves the job to another worker after the lease expires, which finishes it once',
    command: ['worker', '1'] as Command,
    runNumber: 51,
  },
  {
    what: 'the gateway (serve) killed mid-ingest',
    outcome: 'ingests the run once after it is started again',
    command: ['serve'] as Command,
    runNumber: 52,
  },
])('$what', ({ outcome, command, runNumber }) => {
  it(
    outcome,
    async () => {
      const name = `run000${runNumber}.mid`;
      const FILE_SIZE = writeLargeMidasRun(path.join(gw.bufferDir, name), runNumber, EVENTS);
      const closed = await gw.gql(
        `mutation { closeRun(input: { runNumber: ${runNumber}, files: [{ path: "${name}", sizeBytes: ${FILE_SIZE} }] }) { id } }`,
      );
      expect(closed.errors).toBeUndefined();
      const jobs = () =>
        gw.server.runtime.db.manager.find(Job, { where: { runNumber, kind: JobKind.INGEST } });

      const first = startGatewayProcess(command);
      // `serve` logs that it listens only after its worker has started: wait for both, so that
      // the process killed below is a listening server in the middle of the job.
      const listening = () => logLines(first.output(), 'gateway listening').length > 0;
      const running = await waitFor(
        async () => {
          const [job] = await jobs();
          const midJob =
            job?.state === JobState.RUNNING && job.progress > KILL_AFTER && job.progress < 0.6;
          return midJob && (command[0] !== 'serve' || listening()) ? job : null;
        },
        'the first process to be mid-job',
        20_000,
        10,
      );
      expect(running.leaseOwner).toContain(`:${first.child.pid}:`);
      expect(listening()).toBe(command[0] === 'serve');
      first.child.kill('SIGKILL');
      const killedAt = Date.now();
      await new Promise((resolve) => first.child.once('exit', resolve));

      const second = startGatewayProcess(command);
      // The worker logs success after its commit: the row can be SUCCEEDED a moment before the
      // line reaches our pipe, so wait for both before stopping it.
      const succeededLogged = () =>
        logLines(second.output(), 'job succeeded').some((l) => l.jobId === running.id);
      const done = await waitFor(
        async () => {
          const [job] = await jobs();
          return job?.state === JobState.SUCCEEDED && succeededLogged() ? job : null;
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
        files: [{ name, key: `LNGS/${name}`, sizeBytes: FILE_SIZE, events: EVENTS }],
      });

      // The second process claimed the job once, and only after the first one's lease ran out.
      // (Other jobs are claimed too — its RECONSTRUCT follow-up, the earlier test's — so only
      // the lines of this job count.)
      const ofThisJob = (output: string, msg: string) =>
        logLines(output, msg).filter((l) => l.jobId === running.id);
      const claims = ofThisJob(second.output(), 'job claimed');
      expect(claims).toHaveLength(1);
      expect(claims[0].time).toBeGreaterThanOrEqual(new Date(running.leaseUntil!).getTime());
      expect(claims[0].time).toBeGreaterThan(killedAt);
      expect(ofThisJob(second.output(), 'job succeeded')).toHaveLength(1);
      expect(ofThisJob(first.output(), 'job succeeded')).toHaveLength(0);
      const fileRow = (
        await gw.gql(
          `{ run(runNumber: ${runNumber}) { files { localState cloudState objectKey sizeBytes md5 } } }`,
        )
      ).data.run.files[0];
      expect(fileRow).toMatchObject({
        localState: 'PRESENT',
        cloudState: 'AVAILABLE',
        objectKey: `LNGS/${name}`,
        sizeBytes: FILE_SIZE,
        md5: done.result!.files[0].md5,
      });
      // Ingested once: one index entry per event, one object, nothing registered twice.
      const [{ count }] = await gw.server.runtime.db.manager.query(
        'SELECT COUNT(*) AS count FROM events WHERE runId = (SELECT id FROM runs WHERE runNumber = ?)',
        [runNumber],
      );
      expect(Number(count)).toBe(EVENTS);
      expect((await gw.server.runtime.store.stat(`LNGS/${name}`))?.size).toBe(FILE_SIZE);
      // No parts left behind by the killed process's upload (S3 lists unfinished ones).
      const { store } = gw.server.runtime;
      if (store instanceof S3ObjectStore) {
        expect(await store.incompleteUploads()).toEqual([]);
        // ... because the second process aborted the first one's, which it had left.
        expect(
          logLines(second.output(), 'aborted an unfinished multipart upload (its parts are freed)'),
        ).toEqual([expect.objectContaining({ key: `LNGS/${name}` })]);
      }
    },
    150_000,
  );
});
