import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { JobKind } from '../../src/schema/enums';
import { drainJobs } from '../support/drainJobs';
import { readWhenDone } from '../support/wait';

// The DAQ buffer is a jail: symbolic links that lead outside it, to a file or through a
// directory, are refused whether they exist when the run is closed or appear afterwards, and no
// error tells the caller anything about what lies outside. The files outside are valid MIDAS
// runs, so a gateway that read them would ingest them: a refusal cannot be the parser's.

const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-outside-'));
const secret = path.join(outside, 'secret.mid');
let gw: TestGateway;

beforeAll(async () => {
  fs.writeFileSync(secret, smallMidasRun(1, 2));
  // No worker of its own: each INGEST runs when the test says (drainJobs), after the links
  // that should stop it are in place.
  gw = await startTestGateway({ env: { WORKERS: '0' } });
});
afterAll(async () => {
  await gw?.close();
  fs.rmSync(outside, { recursive: true, force: true });
});

const link = (target: string, name: string) =>
  fs.symlinkSync(target, path.join(gw.bufferDir, name));

async function ingestOf(runNumber: number) {
  await drainJobs(gw.server.runtime, [JobKind.INGEST]);
  return readWhenDone(
    async () => (await gw.gql(RUN, { runNumber })).data.run,
    (run) => ['SUCCEEDED', 'FAILED'].includes(run.jobs[0]?.state),
    `the INGEST of run ${runNumber} to end`,
    20_000,
  );
}

/**
 * Nothing about the outside file — its path, name or size — in what the caller is told, beyond
 * the path the caller declared itself.
 */
function expectNothingAbout(told: string, declared: string[]) {
  const text = declared.reduce(
    (rest, own) => rest.split(JSON.stringify(own).slice(1, -1)).join(''),
    told,
  );
  expect(text).not.toContain(outside);
  expect(text).not.toContain('secret');
  expect(text).not.toContain(String(fs.statSync(secret).size));
  expect(text).not.toMatch(/passwd|root:/);
}

describe('the DAQ buffer as a jail', () => {
  it('refuses at closeRun a link to a file outside, and one through a directory outside', async () => {
    link('/etc/passwd', 'run00801.mid');
    link(outside, 'elsewhere');
    for (const [runNumber, declared] of [
      [801, 'run00801.mid'],
      [802, 'elsewhere/secret.mid'],
      [803, path.join(gw.bufferDir, 'elsewhere', 'secret.mid')],
    ] as const) {
      const res = await gw.gql(CLOSE_RUN, { input: { runNumber, files: [{ path: declared }] } });
      expect(res.errors?.[0].extensions?.code, declared).toBe('BAD_USER_INPUT');
      expect(res.errors?.[0].message).toMatch(/leads outside the DAQ buffer/);
      expectNothingAbout(JSON.stringify(res.errors), [declared]);
      expect((await gw.gql(RUN, { runNumber })).data.run).toBeNull();
    }
  });

  it('fails the INGEST, without reading, when the link appears after the close', async () => {
    const closed = await gw.gql(CLOSE_RUN, {
      input: { runNumber: 804, files: [{ path: 'run00804.mid' }, { path: 'later/run00804b.mid' }] },
    });
    expect(closed.errors).toBeUndefined();
    link(secret, 'run00804.mid');
    link(outside, 'later');
    const run = await ingestOf(804);
    expect(run.jobs[0].state).toBe('FAILED');
    expect(run.jobs[0].attempts).toBe(1); // permanent: retrying cannot make it lead back in
    expect(run.jobs[0].lastError).toMatch(/leads outside the DAQ buffer/);
    expectNothingAbout(JSON.stringify(run), [path.join(gw.bufferDir, 'later', 'run00804b.mid')]);
    expect(run.files.map((f: { cloudState: string | null }) => f.cloudState)).toEqual([null, null]);
  });

  it('fails at once when one file leads outside, even if another is only not there yet', async () => {
    // The checks of a run's files end in any order: the permanent refusal must win over the
    // transient "not found" (which alone would be retried), whichever ends first. And a file
    // missing behind a link out of the buffer is refused as outside, not reported missing.
    for (let i = 0; i < 5; i++) {
      const runNumber = 810 + i;
      const files = [`wait${i}.mid`, `gone${i}/run.mid`, `wait${i}b.mid`];
      const closed = await gw.gql(CLOSE_RUN, {
        input: { runNumber, files: files.map((p) => ({ path: p })) },
      });
      expect(closed.errors).toBeUndefined();
      link(outside, `gone${i}`); // outside/run.mid does not exist
      const run = await ingestOf(runNumber);
      expect(run.jobs[0]).toMatchObject({ state: 'FAILED', attempts: 1 });
      expect(run.jobs[0].lastError).toMatch(/gone\d\/run\.mid: leads outside the DAQ buffer/);
    }
  });

  it('follows a link that stays inside the buffer', async () => {
    gw.writeBufferFile('store/run00805.mid', smallMidasRun(805, 2));
    link(path.join(gw.bufferDir, 'store', 'run00805.mid'), 'run00805.mid');
    const closed = await gw.gql(CLOSE_RUN, {
      input: { runNumber: 805, files: [{ path: 'run00805.mid' }] },
    });
    expect(closed.errors).toBeUndefined();
    const run = await ingestOf(805);
    expect(run.jobs[0].state, run.jobs[0].lastError).toBe('SUCCEEDED');
    expect(run.eventCount).toBe(2);
  });
});

const CLOSE_RUN = `mutation($input: CloseRunInput!) { closeRun(input: $input) { runNumber } }`;
const RUN = `query($runNumber: Int!) { run(runNumber: $runNumber) {
  runNumber eventCount
  files { name sizeBytes cloudState localPath }
  jobs { state attempts lastError }
} }`;
