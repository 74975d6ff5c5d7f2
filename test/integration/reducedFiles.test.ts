import { Readable } from 'node:stream';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulateDaq } from '../../src/cli/simulate';
import { readReducedRun } from '../../src/reco/reduction/reducedRun';
import { RetentionService } from '../../src/services/RetentionService';
import { readAll } from '../support/bytes';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { waitFor } from '../support/wait';

// The run's reduced file, written by RECONSTRUCT, and a reconstruction from it alone — the raw
// files deleted from the object store first — giving the same cluster table (issue 20).

let gw: TestGateway;

const RUN = `query($n: Int!) { run(runNumber: $n) {
  files { id kind name md5 sizeBytes objectKey cloudState }
  jobs { id kind state result lastError }
  reconstructions { id inputs { name kind md5 } outputs { name kind md5 } } } }`;

async function run(n: number) {
  return (await gw.gql(RUN, { n })).data.run;
}

async function reconstructions(n: number, count: number) {
  await waitFor(
    async () => (await run(n))?.reconstructions.length === count,
    `run ${n} reconstructed ${count} time(s)`,
    90_000,
  );
  return run(n);
}

/** The run's cluster table (every feature, in event and cluster order), as the export gives it. */
async function clusterTable(runNumber: number): Promise<Record<string, unknown[]>> {
  const columns =
    'serial,integral,nhits,size,length,width,theta,xMean,yMean,xMin,xMax,yMin,yMax,rms,longitudinalRms,transverseRms,energy';
  const res = await fetch(
    `${gw.url}/export/clusters.arrow?runNumberFrom=${runNumber}&runNumberTo=${runNumber}&columns=${columns}`,
  );
  const table = tableFromIPC(Buffer.from(await res.arrayBuffer()));
  return Object.fromEntries(
    table.schema.fields.map((f) => [f.name, Array.from(table.getChild(f.name)!.toArray())]),
  );
}

beforeAll(async () => {
  gw = await startTestGateway();
  await simulateDaq(gw.config, ['--runs', '2', '--events', '6', '--size', '512', '--gzip'], {
    GATEWAY_URL: gw.url,
  });
}, 120_000);
afterAll(async () => gw?.close());

describe('reduced files', () => {
  it('are written by the reconstruction, small, and say what they hold', async () => {
    const data = await reconstructions(2, 1);
    const raw = data.files.find((f: { kind: string }) => f.kind === 'RAW');
    const reduced = data.files.find((f: { kind: string }) => f.kind === 'REDUCED');
    expect(reduced).toMatchObject({ name: 'run00002_v1_roi.npz', cloudState: 'AVAILABLE' });
    expect(Number(raw.sizeBytes) / Number(reduced.sizeBytes)).toBeGreaterThan(10);
    const file = readReducedRun(
      await readAll(await gw.server.runtime.store.get(reduced.objectKey)),
    );
    const pedestal = (await run(1)).files.find((f: { kind: string }) => f.kind === 'PEDESTAL_MAP');
    expect(file.metadata).toMatchObject({
      format: 'cygno-roi',
      runNumber: 2,
      recoVersion: 1,
      pedestal: { runNumber: 1, md5: pedestal.md5 },
      image: { width: 512, height: 512 },
      reduction: { marginBins: 3 },
      files: [raw.name],
      events: 6,
    });
    expect([...file.events()].map((e) => e.serial)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('reconstruct again without the raw files, to the same cluster table', async () => {
    const before = await clusterTable(2);
    expect(before.serial.length).toBeGreaterThan(6);
    const data = await run(2);
    const reduced = data.files.find((f: { kind: string }) => f.kind === 'REDUCED');
    // Retention (RETENTION_CLOUD_RAW=when-reduced) frees the raw file's cloud copy once its
    // tape copy is verified: the run has its reduced file. The pedestal run keeps its raw file.
    const { runtime } = gw.server;
    const retention = new RetentionService(runtime.db, runtime.store, runtime.services.tape.tape, {
      buffer: 'off',
      cloudDays: 0,
      cloudRaw: 'when-reduced',
      bufferDir: gw.bufferDir,
    });
    await waitFor(async () => (await retention.plan()).length > 0, 'the raw file on tape', 30_000);
    const freed = await retention.apply('test');
    expect(freed).toEqual([
      expect.objectContaining({
        runNumber: 2,
        location: 'CLOUD',
        reason: expect.stringContaining(`the run's reduced file ${reduced.name}`),
      }),
    ]);
    for (const f of data.files.filter((f: { kind: string }) => f.kind === 'RAW'))
      await expect(runtime.store.stat(f.objectKey)).resolves.toBeNull();
    const summary = (await gw.gql(`{ storageSummary { cloudByKind { kind files bytes } } }`)).data
      .storageSummary.cloudByKind;
    expect(summary.map((k: { kind: string }) => k.kind)).toEqual([
      'PEDESTAL_MAP',
      'RAW',
      'RECO',
      'REDUCED',
    ]);
    expect(summary.find((k: { kind: string }) => k.kind === 'REDUCED')).toMatchObject({
      files: 1,
      bytes: Number(reduced.sizeBytes),
    });

    const queued = await gw.gql(`mutation { reconstructRun(runNumber: 2, from: REDUCED) { id } }`);
    expect(queued.errors).toBeUndefined();
    const after = await reconstructions(2, 2);
    const job = after.jobs.find((j: { kind: string }) => j.kind === 'RECONSTRUCT');
    expect(job).toMatchObject({ state: 'SUCCEEDED', result: { source: 'REDUCED' } });
    expect(after.reconstructions[0].inputs).toEqual([
      { name: reduced.name, kind: 'REDUCED', md5: reduced.md5 },
    ]);
    expect(await clusterTable(2)).toEqual(before);
  }, 120_000);

  it('refuse what they cannot do, saying why, and overwrite nothing', async () => {
    const before = await clusterTable(2);
    const { store } = gw.server.runtime;
    const reduced = (await run(2)).files.find((f: { kind: string }) => f.kind === 'REDUCED');
    // A truncated reduced file: the job fails naming it; the run's clusters stay as they were.
    const whole = await readAll(await store.get(reduced.objectKey));
    const half = whole.subarray(0, whole.length >> 1);
    await store.put(reduced.objectKey, Readable.from([half]), half.length);
    await gw.gql(`mutation { reconstructRun(runNumber: 2, from: REDUCED, force: true) { id } }`);
    const failed = await waitFor(
      async () =>
        (await run(2)).jobs.find(
          (j: { kind: string; state: string }) => j.kind === 'RECONSTRUCT' && j.state === 'FAILED',
        ),
      'the job to fail',
      30_000,
    );
    expect(failed.lastError).toMatch(/run00002_v1_roi\.npz: not a readable reduced file/);
    expect(await clusterTable(2)).toEqual(before);
    await store.put(reduced.objectKey, Readable.from([whole]), whole.length);

    const pedestal = await gw.gql(
      `mutation { reconstructRun(runNumber: 1, from: REDUCED) { id } }`,
    );
    expect(pedestal.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    await gw.server.runtime.db.write((m) =>
      m.query(`UPDATE data_files SET cloudState = 'DELETED' WHERE kind = 'REDUCED'`),
    );
    const none = await gw.gql(`mutation { reconstructRun(runNumber: 2, from: REDUCED) { id } }`);
    expect(none.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/no reduced file/),
      extensions: { code: 'CONFLICT' },
    });
  });
});
