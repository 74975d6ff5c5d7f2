import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { readWhenDone, waitFor } from '../support/wait';
import { md5 } from '../support/bytes';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('startRun / closeRun', () => {
  it('starts a run, parsing the run type from a CYGNO description', async () => {
    const res = await gw.gql(START_RUN, {
      input: {
        runNumber: 100,
        startedAt: '2026-11-24T18:00:00+01:00',
        description: 'S003:DATA:Fe source',
        attributes: { hv: 440 },
      },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.startRun).toMatchObject({
      runNumber: 100,
      state: 'RUNNING',
      runType: 'DATA',
      startedAt: '2026-11-24T17:00:00.000Z',
      attributes: { hv: 440 },
      startMissed: false,
    });
  });

  it('closes a run, registers its files and ingests them (sizes and MD5 checked)', async () => {
    const content = smallMidasRun(101);
    gw.writeBufferFile('run00101.mid', content);
    await gw.gql(START_RUN, { input: { runNumber: 101, startedAt: 1795600000000 } });
    const res = await gw.gql(CLOSE_RUN, {
      input: {
        runNumber: 101,
        stoppedAt: 1795600060000,
        eventCount: 12,
        files: [{ path: 'run00101.mid', sizeBytes: content.length, md5: md5(content) }],
      },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.closeRun).toMatchObject({
      runNumber: 101,
      state: 'CLOSED',
      eventCount: 12,
      exposureSeconds: 60,
    });
    expect(res.data.closeRun.files).toEqual([
      expect.objectContaining({ name: 'run00101.mid', kind: 'RAW', declaredMd5: md5(content) }),
    ]);

    const ingested = await readWhenDone(
      async () => (await gw.gql(RUN, { runNumber: 101 })).data.run,
      (run) => run.jobs.find((j: { kind: string }) => j.kind === 'INGEST')?.state === 'SUCCEEDED',
      'the INGEST job to succeed',
    );
    expect(ingested.eventCount).toBe(12); // the DAQ's count wins over the index's 3
    // INGEST queued the reconstruction in its own commit; with no pedestal run before run 101
    // it cannot run, and says so.
    expect(ingested.jobs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'INGEST', attempts: 1, progress: 1 }),
        expect.objectContaining({ kind: 'RECONSTRUCT' }),
      ]),
    );
    await waitFor(async () => {
      const run = (await gw.gql(RUN, { runNumber: 101 })).data.run;
      const reco = run.jobs.find((j: { kind: string }) => j.kind === 'RECONSTRUCT');
      return reco?.state === 'FAILED' && /no pedestal run before it/.test(reco.lastError);
    }, 'the RECONSTRUCT job to fail for want of a pedestal run');
    expect(ingested.files[0]).toMatchObject({
      localState: 'PRESENT',
      cloudState: 'AVAILABLE',
      sizeBytes: content.length,
      md5: md5(content),
    });
  });

  it('is idempotent: a repeated closeRun returns the same run and creates no second job', async () => {
    const content = smallMidasRun(102);
    gw.writeBufferFile('run00102.mid', content);
    const input = { runNumber: 102, files: [{ path: 'run00102.mid', md5: md5(content) }] };
    const first = await gw.gql(CLOSE_RUN, { input });
    const second = await gw.gql(CLOSE_RUN, { input });
    const concurrent = await Promise.all([
      gw.gql(CLOSE_RUN, { input }),
      gw.gql(CLOSE_RUN, { input }),
    ]);
    for (const res of [second, ...concurrent]) {
      expect(res.errors).toBeUndefined();
      expect(res.data.closeRun.id).toBe(first.data.closeRun.id);
    }
    const jobs = await gw.gql(JOBS, { filter: { runNumber: 102, kinds: ['INGEST'] } });
    expect(jobs.data.jobs.totalCount).toBe(1);
    const files = await gw.gql(FILES, { filter: { runNumber: 102 } });
    expect(files.data.files.totalCount).toBe(1);
  });

  it('refuses to change the declared files of a closed run (CONFLICT)', async () => {
    await gw.gql(CLOSE_RUN, { input: { runNumber: 103, files: [{ path: 'run00103.mid' }] } });
    const res = await gw.gql(CLOSE_RUN, {
      input: { runNumber: 103, files: [{ path: 'run00103.mid' }, { path: 'run00103b.mid' }] },
    });
    expect(res.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(res.errors?.[0].message).toContain('adds run00103b.mid');
    // Fewer files is a change too: a closed run cannot lose one either.
    await gw.gql(CLOSE_RUN, {
      input: { runNumber: 108, files: [{ path: 'run00108.mid' }, { path: 'run00108b.mid' }] },
    });
    const fewer = await gw.gql(CLOSE_RUN, {
      input: { runNumber: 108, files: [{ path: 'run00108.mid' }] },
    });
    expect(fewer.errors?.[0].extensions?.code).toBe('CONFLICT');
    expect(fewer.errors?.[0].message).toContain('leaves out run00108b.mid');
    const none = await gw.gql(CLOSE_RUN, { input: { runNumber: 108 } });
    expect(none.errors?.[0].extensions?.code).toBe('CONFLICT');
  });

  it('closeRun for a run never started creates it and marks the missed start', async () => {
    const res = await gw.gql(CLOSE_RUN, {
      input: { runNumber: 104, description: 'S001:PED:pedestal' },
    });
    expect(res.data.closeRun).toMatchObject({
      runNumber: 104,
      state: 'CLOSED',
      startMissed: true,
      startedAt: null,
      runType: 'PED',
    });
    // The late start fills in what the close lacked, without reopening the run.
    const late = await gw.gql(START_RUN, {
      input: { runNumber: 104, startedAt: '2026-11-24T10:00:00Z', pedestal: true },
    });
    expect(late.data.startRun).toMatchObject({
      state: 'CLOSED',
      startedAt: '2026-11-24T10:00:00.000Z',
      pedestal: true,
      startMissed: true,
    });
  });

  it('a repeated startRun returns the run unchanged', async () => {
    const first = await gw.gql(START_RUN, { input: { runNumber: 105, description: 'first' } });
    const again = await gw.gql(START_RUN, { input: { runNumber: 105, description: 'second' } });
    expect(again.data.startRun).toEqual(first.data.startRun);
  });

  it('fails an INGEST whose file never appears after its attempts, with a clear error', async () => {
    await gw.gql(CLOSE_RUN, {
      input: { runNumber: 106, files: [{ path: 'missing/run00106.mid' }] },
    });
    const job = await waitFor(
      async () => {
        const jobs = (await gw.gql(JOBS, { filter: { runNumber: 106 } })).data.jobs.nodes;
        return jobs[0]?.state === 'FAILED' ? jobs[0] : null;
      },
      'the INGEST job to fail',
      20_000,
    );
    expect(job.attempts).toBe(gw.config.jobMaxAttempts);
    expect(job.lastError).toMatch(/run00106\.mid: not found in the DAQ buffer/);
  });

  it('fails an INGEST at once when the MD5 differs from the declared one', async () => {
    gw.writeBufferFile('run00107.mid', smallMidasRun(107));
    await gw.gql(CLOSE_RUN, {
      input: { runNumber: 107, files: [{ path: 'run00107.mid', md5: 'f'.repeat(32) }] },
    });
    const job = await waitFor(async () => {
      const jobs = (await gw.gql(JOBS, { filter: { runNumber: 107 } })).data.jobs.nodes;
      return jobs[0]?.state === 'FAILED' ? jobs[0] : null;
    }, 'the INGEST job to fail');
    expect(job.attempts).toBe(1);
    expect(job.lastError).toMatch(/MD5 .* differs from the declared f{32}/);
  });
});

describe('bad input', () => {
  it('names the invalid field (BAD_USER_INPUT)', async () => {
    const res = await gw.gql(CLOSE_RUN, {
      input: { runNumber: -1, files: [{ path: 'x.mid', md5: 'nothex' }] },
    });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toMatch(/runNumber/);
    expect(res.errors?.[0].message).toMatch(/files\.0\.md5/);
  });

  it('refuses files outside the DAQ buffer', async () => {
    const res = await gw.gql(CLOSE_RUN, {
      input: { runNumber: 120, files: [{ path: '../../etc/passwd' }] },
    });
    expect(res.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'files[0].path',
    });
    expect((await gw.gql(RUN, { runNumber: 120 })).data.run).toBeNull();
  });

  it('rejects a DateTime that is neither RFC 3339 nor epoch ms', async () => {
    const res = await gw.gql(START_RUN, { input: { runNumber: 121, startedAt: '24/11/2026' } });
    expect(res.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0].message).toMatch(/RFC 3339/);
  });

  it('rejects first above the cap and a bad cursor', async () => {
    const tooMany = await gw.gql(`{ runs(first: 10000) { totalCount } }`);
    expect(tooMany.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'first',
    });
    const badCursor = await gw.gql(`{ runs(first: 2, after: "garbage") { totalCount } }`);
    expect(badCursor.errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'after',
    });
  });

  it('answers an unknown job id with NOT_FOUND and a non-numeric one with BAD_USER_INPUT', async () => {
    expect(
      (await gw.gql(`mutation { retryJob(id: "999999") { id } }`)).errors?.[0].extensions?.code,
    ).toBe('NOT_FOUND');
    expect(
      (await gw.gql(`mutation { cancelJob(id: "abc") { id } }`)).errors?.[0].extensions?.code,
    ).toBe('BAD_USER_INPUT');
  });
});

describe('runs query', () => {
  beforeAll(async () => {
    for (let n = 200; n < 212; n++) {
      await gw.gql(START_RUN, {
        input: {
          runNumber: n,
          startedAt: Date.UTC(2026, 0, 1, 0, n - 200),
          description:
            n % 3 === 0 ? `S004:CAL:Fe55 calibration ${n}` : `S004:DATA:background_${n}%`,
          pedestal: n % 4 === 0,
        },
      });
    }
  });

  it('pages through runs with opaque cursors, newest first, without gaps or repeats', async () => {
    const seen: number[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await gw.gql(RUNS, {
        filter: { minRunNumber: 200, maxRunNumber: 211 },
        first: 5,
        after,
      });
      const page = res.data.runs;
      expect(page.totalCount).toBe(12);
      expect(page.nodes.map((r: any) => r.runNumber)).toEqual(
        page.edges.map((e: any) => e.node.runNumber),
      );
      seen.push(...page.nodes.map((r: any) => r.runNumber));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual([211, 210, 209, 208, 207, 206, 205, 204, 203, 202, 201, 200]);
  });

  it('orders by start time and pages in that order', async () => {
    const first = await gw.gql(RUNS, {
      filter: { minRunNumber: 200, maxRunNumber: 211 },
      first: 4,
      orderBy: 'STARTED_AT_ASC',
    });
    const second = await gw.gql(RUNS, {
      filter: { minRunNumber: 200, maxRunNumber: 211 },
      first: 4,
      orderBy: 'STARTED_AT_ASC',
      after: first.data.runs.pageInfo.endCursor,
    });
    expect(first.data.runs.nodes.map((r: any) => r.runNumber)).toEqual([200, 201, 202, 203]);
    expect(second.data.runs.nodes.map((r: any) => r.runNumber)).toEqual([204, 205, 206, 207]);
  });

  it('filters by run type, pedestal, time range (epoch ms or RFC 3339), state and description text', async () => {
    const numbers = async (filter: Record<string, unknown>) =>
      (
        await gw.gql(RUNS, {
          filter: { minRunNumber: 200, maxRunNumber: 211, ...filter },
          first: 50,
        })
      ).data.runs.nodes
        .map((r: any) => r.runNumber)
        .sort();
    expect(await numbers({ runTypes: ['cal'] })).toEqual([201, 204, 207, 210]);
    expect(await numbers({ pedestal: true })).toEqual([200, 204, 208]);
    expect(
      await numbers({ startedFrom: Date.UTC(2026, 0, 1, 0, 5), startedTo: '2026-01-01T00:08:00Z' }),
    ).toEqual([205, 206, 207]);
    expect(await numbers({ state: 'CLOSED' })).toEqual([]);
    expect(await numbers({ descriptionContains: 'FE55' })).toEqual([201, 204, 207, 210]);
    // LIKE wildcards in the text are matched literally.
    expect(await numbers({ descriptionContains: '_20' })).toEqual([
      200, 202, 203, 205, 206, 208, 209,
    ]);
    expect(await numbers({ descriptionContains: '5%' })).toEqual([205]);
    expect(await numbers({ quality: ['UNKNOWN'] })).toHaveLength(12);
  });

  it('returns DateTime as RFC 3339 UTC and accepts epoch ms above 2^31 in literals', async () => {
    const res = await gw.gql(
      `{ runs(filter: { startedFrom: 1767225600000, maxRunNumber: 200, minRunNumber: 200 }) { nodes { startedAt } } }`,
    );
    expect(res.data.runs.nodes[0].startedAt).toBe('2026-01-01T00:00:00.000Z');
  });
});

const RUN_FIELDS = `id runNumber state runType description pedestal startedAt stoppedAt startMissed eventCount exposureSeconds attributes
  files { id name kind sizeBytes declaredMd5 md5 localState cloudState }
  jobs { id kind state attempts progress lastError }`;
const START_RUN = `mutation($input: StartRunInput!) { startRun(input: $input) { ${RUN_FIELDS} } }`;
const CLOSE_RUN = `mutation($input: CloseRunInput!) { closeRun(input: $input) { ${RUN_FIELDS} } }`;
const RUN = `query($runNumber: Int!) { run(runNumber: $runNumber) { ${RUN_FIELDS} } }`;
const RUNS = `query($filter: RunFilter, $first: Int, $after: String, $orderBy: RunOrder) {
  runs(filter: $filter, first: $first, after: $after, orderBy: $orderBy) {
    totalCount nodes { runNumber startedAt } edges { cursor node { runNumber } } pageInfo { hasNextPage endCursor }
  }
}`;
const JOBS = `query($filter: JobFilter) { jobs(filter: $filter) { totalCount nodes { id kind state attempts lastError runNumber } } }`;
const FILES = `query($filter: FileFilter) { files(filter: $filter) { totalCount nodes { id name } } }`;
