import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarm } from '../../src/entities/Alarm';
import { Crc32c } from '../../src/reco/checksums';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { readWhenDone } from '../support/wait';
import { adler32, md5 } from '../support/bytes';

const SAMPLE = path.join(__dirname, '..', 'fixtures', 'midas', '51230216_125838_F0001.mid.gz');

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

async function closeAndWait(
  runNumber: number,
  files: Array<{ path: string; md5?: string; sizeBytes?: number }>,
  state = 'SUCCEEDED',
) {
  const res = await gw.gql(CLOSE_RUN, { input: { runNumber, files } });
  expect(res.errors).toBeUndefined();
  const run = await readWhenDone(
    async () => (await gw.gql(RUN, { runNumber })).data.run,
    (read) => ['SUCCEEDED', 'FAILED'].includes(read.jobs[0]?.state),
    `the INGEST of run ${runNumber} to end`,
    20_000,
  );
  expect(run.jobs[0].state, run.jobs[0].lastError).toBe(state);
  return run;
}

describe('INGEST', () => {
  it('copies a real gzip MIDAS file to the store with MD5 and adler32, and indexes its events', async () => {
    const content = fs.readFileSync(SAMPLE);
    gw.writeBufferFile('51230216_125838_F0001.mid.gz', content);
    const run = await closeAndWait(5123, [
      { path: '51230216_125838_F0001.mid.gz', md5: md5(content), sizeBytes: content.length },
    ]);
    expect(run.files[0]).toMatchObject({
      cloudState: 'AVAILABLE',
      localState: 'PRESENT',
      objectKey: 'LNGS/51230216_125838_F0001.mid.gz',
      md5: md5(content),
      adler32: adler32(content),
      sizeBytes: content.length,
    });
    expect(run.eventCount).toBe(2);
    const stored = await gw.server.runtime.store.stat('LNGS/51230216_125838_F0001.mid.gz');
    expect(stored?.size).toBe(content.length);

    const events = (await gw.gql(EVENTS, { runNumber: 5123 })).data.events;
    expect(events.totalCount).toBe(2);
    expect(events.nodes.map((e: { bankNames: string[] }) => e.bankNames)).toEqual([
      ['SCD0', 'LDV0', 'DMC0'],
      ['SCD0', 'LDV0', 'DMC0'],
    ]);
    expect(events.nodes[0]).toMatchObject({ eventId: 1, fileOffset: 17_644 });

    // The download link hands back the very bytes.
    const download = await fetch(run.files[0].downloadUrl);
    expect(md5(Buffer.from(await download.arrayBuffer()))).toBe(md5(content));
  });

  it('fills run attributes from the BOR/EOR ODB through the CYGNO links', async () => {
    gw.writeBufferFile('run00201.mid.gz', zlib.gzipSync(smallMidasRun(201, 4)));
    const run = await closeAndWait(201, [{ path: 'run00201.mid.gz' }]);
    expect(run.attributes).toMatchObject({
      run_number: 201,
      exposure_sec: 0.3,
      pedestal_run: false,
      run_description: 'S003:DATA:Fe source',
      GEM1_V: 400,
      DRIFT_V: 960,
      PMT3_V: 800,
      stop_time: 'Wed Nov 25 09:47:40 2026',
      number_of_events: 4,
    });
    expect(run.eventCount).toBe(4);
    const events = (await gw.gql(EVENTS, { runNumber: 201 })).data.events.nodes;
    expect(events.map((e: { serial: number }) => e.serial)).toEqual([0, 1, 2, 3]);
    expect(events[0].bankNames).toEqual(['CAM0', 'DGH0']);
  });

  it('ingests an LZ4-compressed run (linked blocks, as mlogger writes them)', async () => {
    const content = fs.readFileSync(
      path.join(__dirname, '..', 'fixtures', 'midas', 'synthetic.mid.lz4'),
    );
    gw.writeBufferFile('run04242.mid.lz4', content);
    const run = await closeAndWait(4242, [{ path: 'run04242.mid.lz4', md5: md5(content) }]);
    expect(run.files[0]).toMatchObject({ cloudState: 'AVAILABLE', sizeBytes: content.length });
    expect(run.eventCount).toBe(31); // 30 camera events and one without banks
  });

  it('filters events by id, serial range, time range and bank', async () => {
    // A run of its own: 4 camera events, serials 0-3, one second apart from 1795600001.
    gw.writeBufferFile('run00203.mid.gz', zlib.gzipSync(smallMidasRun(203, 4)));
    await closeAndWait(203, [{ path: 'run00203.mid.gz' }]);
    const serials = async (filter: Record<string, unknown>) =>
      (await gw.gql(EVENTS_FILTERED, { runNumber: 203, filter })).data.events.nodes.map(
        (e: { serial: number }) => e.serial,
      );
    expect(await serials({ minSerial: 1, maxSerial: 2 })).toEqual([1, 2]);
    expect(await serials({ eventIds: [1] })).toEqual([0, 1, 2, 3]);
    expect(await serials({ eventIds: [2] })).toEqual([]);
    expect(await serials({ from: 1_795_600_002_000, to: '2026-11-25T09:46:44Z' })).toEqual([1, 2]);
    expect(await serials({ bankName: 'DGH0' })).toEqual([0, 1, 2, 3]);
    expect(await serials({ bankName: 'DGH' })).toEqual([]);
    const missing = await gw.gql(EVENTS_FILTERED, { runNumber: 999_999, filter: {} });
    expect(missing.errors?.[0].extensions?.code).toBe('NOT_FOUND');
  });

  it('checks a .crc32c sidecar and accepts a matching one', async () => {
    const content = smallMidasRun(202);
    gw.writeBufferFile('run00202.mid', content);
    gw.writeBufferFile(
      'run00202.mid.crc32c',
      Buffer.from(`${new Crc32c().update(content).hex()} ${content.length} run00202.mid\n`),
    );
    const run = await closeAndWait(202, [{ path: 'run00202.mid' }]);
    expect(run.files[0].cloudState).toBe('AVAILABLE');
  });
});

describe('INGEST faults', () => {
  it('a wrong declared MD5: file BAD, alarm raised, buffer file kept, no object', async () => {
    const content = smallMidasRun(210);
    const local = gw.writeBufferFile('run00210.mid', content);
    const run = await closeAndWait(210, [{ path: 'run00210.mid', md5: '0'.repeat(32) }], 'FAILED');
    expect(run.jobs[0]).toMatchObject({ attempts: 1 });
    expect(run.jobs[0].lastError).toMatch(/MD5 [0-9a-f]{32} differs from the declared 0{32}/);
    expect(run.files[0]).toMatchObject({ cloudState: 'BAD', downloadUrl: null });
    expect(fs.readFileSync(local).equals(content)).toBe(true);
    expect(await gw.server.runtime.store.stat('LNGS/run00210.mid')).toBeNull();
    const alarm = await gw.server.runtime.db.manager.findOneByOrFail(Alarm, {
      fingerprint: `checksum-mismatch:${run.files[0].id}`,
    });
    expect(alarm).toMatchObject({ severity: 'CRITICAL', state: 'FIRING', source: 'ingest' });
    expect(alarm.message).toContain('run 210');
    expect((await gw.gql(EVENTS, { runNumber: 210 })).data.events.totalCount).toBe(0);
  });

  it('a sidecar that disagrees marks the file BAD', async () => {
    gw.writeBufferFile('run00211.mid', smallMidasRun(211));
    gw.writeBufferFile('run00211.mid.crc32c', Buffer.from('deadbeef 12 run00211.mid\n'));
    const run = await closeAndWait(211, [{ path: 'run00211.mid' }], 'FAILED');
    expect(run.jobs[0].lastError).toMatch(/differ from the \.crc32c sidecar's deadbeef \/ 12/);
    expect(run.files[0].cloudState).toBe('BAD');
  });

  it("a truncated file fails with the reader's message, and leaves no object", async () => {
    gw.writeBufferFile('run00212.mid', smallMidasRun(212).subarray(0, 5000));
    const run = await closeAndWait(212, [{ path: 'run00212.mid' }], 'FAILED');
    expect(run.jobs[0].attempts).toBe(1);
    expect(run.jobs[0].lastError).toMatch(/^run00212\.mid: event #1 at byte \d+: truncated event/);
    expect(run.files[0].cloudState).toBeNull();
    expect(await gw.server.runtime.store.stat('LNGS/run00212.mid')).toBeNull();
  });

  it("random bytes fail with the reader's message; the server carries on", async () => {
    gw.writeBufferFile(
      'run00213.mid',
      Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 7919) % 251)),
    );
    const run = await closeAndWait(213, [{ path: 'run00213.mid' }], 'FAILED');
    expect(run.jobs[0].lastError).toMatch(/^run00213\.mid: event #0 at byte \d+: /);
    expect((await gw.gql(`{ runs(first: 1) { totalCount } }`)).errors).toBeUndefined();
  });

  it('refuses a second file under an object key already in use', async () => {
    const content = smallMidasRun(214);
    gw.writeBufferFile('a/run00214.mid', content);
    gw.writeBufferFile('b/run00214.mid', content);
    await closeAndWait(214, [{ path: 'a/run00214.mid' }]);
    const second = await closeAndWait(215, [{ path: 'b/run00214.mid' }], 'FAILED');
    expect(second.jobs[0].lastError).toMatch(/object key LNGS\/run00214\.mid already holds file/);
  });
});

const CLOSE_RUN = `mutation($input: CloseRunInput!) { closeRun(input: $input) { runNumber } }`;
const RUN = `query($runNumber: Int!) { run(runNumber: $runNumber) {
  runNumber eventCount attributes
  files { id name sizeBytes md5 adler32 localState cloudState objectKey downloadUrl }
  jobs { state attempts lastError }
} }`;
const EVENTS_FILTERED = `query($runNumber: Int!, $filter: EventFilter) { events(runNumber: $runNumber, filter: $filter) { nodes { serial } } }`;
const EVENTS = `query($runNumber: Int!) { events(runNumber: $runNumber, first: 100) {
  totalCount nodes { serial eventId triggerMask timestamp fileOffset sizeBytes bankNames }
} }`;
