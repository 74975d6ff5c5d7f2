import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunTruth } from '../../src/reco/simulation';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { readWhenDone } from '../support/wait';

const CLI = path.join(__dirname, '..', '..', 'bin', 'cygno-gateway.js');
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

describe('cygno-gateway simulate-daq', () => {
  it('writes runs into the buffer, starts and closes them, and they are ingested', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        CLI,
        'simulate-daq',
        '--runs',
        '2',
        '--events',
        '5',
        '--size',
        '128',
        '--gzip',
        '--pedestal-every',
        '2',
      ],
      {
        env: {
          PATH: process.env.PATH,
          GATEWAY_URL: gw.url,
          DAQ_BUFFER_DIR: gw.bufferDir,
          LOG_LEVEL: 'silent',
        },
      },
    );
    const lines = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines.map((l) => [l.runNumber, l.pedestal, l.file])).toEqual([
      [1, true, 'run00001.mid.gz'],
      [2, false, 'run00002.mid.gz'],
    ]);
    const RUNS = `{ runs { nodes { runNumber pedestal runType eventCount attributes files { cloudState md5 } jobs { state } } } }`;
    const [data, pedestal] = await readWhenDone(
      async () => (await gw.gql(RUNS)).data.runs.nodes,
      (nodes: Array<{ jobs: Array<{ state: string }> }>) =>
        nodes.length === 2 && nodes.every((r) => r.jobs[0]?.state === 'SUCCEEDED'),
      'both runs to be ingested',
      20_000,
    );
    expect(pedestal).toMatchObject({
      runNumber: 1,
      pedestal: true,
      runType: 'PED',
      eventCount: 5,
      attributes: { pedestal_run: true, DRIFT_V: 960 },
    });
    expect(data).toMatchObject({
      runNumber: 2,
      pedestal: false,
      runType: 'DATA',
      files: [{ cloudState: 'AVAILABLE', md5: lines[1].md5 }],
    });

    // Camera events (id 1) and slow-control events (id 2, their own serials) are all indexed.
    const events = (
      await gw.gql(`{ events(runNumber: 2) { totalCount nodes { eventId serial bankNames } } }`)
    ).data.events;
    expect(events.totalCount).toBe(6);
    expect(
      events.nodes
        .filter((e: { eventId: number }) => e.eventId === 1)
        .map((e: { bankNames: string[] }) => e.bankNames),
    ).toEqual(Array(5).fill(['CAM0', 'DGH0', 'DIG0']));
    expect(events.nodes.find((e: { eventId: number }) => e.eventId === 2)).toEqual({
      eventId: 2,
      serial: 0,
      bankNames: ['INPT'],
    });
    const inpt = (
      await gw.gql(`{ events(runNumber: 2, filter: { bankName: "INPT" }) { totalCount } }`)
    ).data.events;
    expect(inpt.totalCount).toBe(1);

    // The ground truth the reconstruction will be checked against.
    const truth = JSON.parse(
      fs.readFileSync(path.join(gw.bufferDir, 'truth', 'run00002.json'), 'utf8'),
    ) as RunTruth;
    expect(truth).toMatchObject({ runNumber: 2, pedestal: false, side: 128 });
    expect(truth.events).toHaveLength(5);
    expect(truth.events[0].injected.map((c) => c.kind)).toEqual(['spot', 'spot', 'spot', 'track']);
    const pedestalTruth = JSON.parse(
      fs.readFileSync(path.join(gw.bufferDir, 'truth', 'run00001.json'), 'utf8'),
    ) as RunTruth;
    expect(pedestalTruth.events.every((e) => e.injected.length === 0)).toBe(true);
  });

  it('explains a bad argument', async () => {
    const error = await promisify(execFile)(
      process.execPath,
      [CLI, 'simulate-daq', '--size', '8'],
      { env: { PATH: process.env.PATH, GATEWAY_URL: gw.url, DAQ_BUFFER_DIR: gw.bufferDir } },
    ).catch((e: { stderr: string; code: number }) => e);
    expect(error).toMatchObject({
      code: 1,
      stderr: 'cygno-gateway: --size: expected an image side from 16 to 4096 pixels\n',
    });
  });
});
