import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../config';
import { gatewayRequest } from './gatewayHttp';
import { writeSimulatedRun } from '../reco/simulation';

const USAGE = `usage: cygno-gateway simulate-daq [--runs N] [--events K] [--size W] [--rate HZ] [--gzip]
                                   [--pedestal-every P] [--first-run R] [--seed S]

Writes synthetic CYGNO runs into DAQ_BUFFER_DIR and tells the gateway about them as the DAQ
does (startRun, then closeRun with the file, its size and MD5). The first run of every P
(default 5) is a pedestal run. Ground truth goes to DAQ_BUFFER_DIR/truth/runNNNNN.json.
--rate paces events in real time (each flushed to disk whole, as a logger does for a live
reader); without it the runs are written as fast as possible.
GATEWAY_URL (default http://127.0.0.1:4000) and GATEWAY_TOKEN (role daq) select the gateway.`;

/** Where the simulated source puts its ⁵⁵Fe line (≈ 1,700 ADC/keV × 5.9 keV). */
const FE55_LINE_ADC = 10_000;

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0)
    throw new Error(`--${name}: expected a non-negative integer, got "${value}"`);
  return parsed;
}

/** `cygno-gateway simulate-daq …`: the DAQ, simulated. */
export async function simulateDaq(
  config: Config,
  argv: string[],
  env = process.env,
): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      runs: { type: 'string' },
      events: { type: 'string' },
      size: { type: 'string' },
      rate: { type: 'string' },
      gzip: { type: 'boolean' },
      'pedestal-every': { type: 'string' },
      'first-run': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const runs = positiveInt(values.runs, 'runs', 1);
  const events = positiveInt(values.events, 'events', 10);
  const side = positiveInt(values.size, 'size', 2304);
  const pedestalEvery = positiveInt(values['pedestal-every'], 'pedestal-every', 5);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && !(rate > 0 && rate <= 1000))
    throw new Error(`--rate: expected a rate in Hz above 0, got "${values.rate}"`);
  if (side < 16 || side > 4096)
    throw new Error('--size: expected an image side from 16 to 4096 pixels');
  const url = (env.GATEWAY_URL ?? `http://127.0.0.1:${config.port}`).replace(/\/$/, '');
  const token = env.GATEWAY_TOKEN;

  let firstRun =
    values['first-run'] === undefined
      ? undefined
      : positiveInt(values['first-run'], 'first-run', 1);
  if (firstRun === undefined) {
    const data = await gatewayRequest(url, token, '{ runs(first: 1) { nodes { runNumber } } }', {});
    const newest = (data.runs as { nodes: Array<{ runNumber: number }> }).nodes[0]?.runNumber ?? 0;
    firstRun = newest + 1;
  }
  const truthDir = path.join(config.daqBufferDir, 'truth');
  fs.mkdirSync(truthDir, { recursive: true });

  for (let i = 0; i < runs; i++) {
    const runNumber = firstRun + i;
    const pedestal = pedestalEvery > 0 && i % pedestalEvery === 0;
    const name = `run${String(runNumber).padStart(5, '0')}.mid${values.gzip ? '.gz' : ''}`;
    const startTime = Math.floor(Date.now() / 1000);
    const description = pedestal ? 'S001:PED:simulated pedestal' : 'S003:DATA:simulated Fe source';
    await gatewayRequest(
      url,
      token,
      'mutation($input: StartRunInput!) { startRun(input: $input) { runNumber } }',
      {
        input: { runNumber, startedAt: startTime * 1000, description, pedestal },
      },
    );
    const run = await writeSimulatedRun(
      path.join(config.daqBufferDir, name),
      {
        runNumber,
        events,
        side,
        pedestal,
        gzip: Boolean(values.gzip),
        rateHz: rate,
        pace: rate !== undefined,
        // In real time, each event reaches the disk whole, for the live reconstruction.
        flushEachEvent: rate !== undefined,
        seed: values.seed ? Number(values.seed) + runNumber : runNumber,
        startTime,
        fe55Line: FE55_LINE_ADC,
      },
      (serial) => process.stderr.write(`\rrun ${runNumber}: event ${serial + 1}/${events}`),
    );
    fs.writeFileSync(
      path.join(truthDir, `run${String(runNumber).padStart(5, '0')}.json`),
      JSON.stringify(run.truth),
    );
    await gatewayRequest(
      url,
      token,
      'mutation($input: CloseRunInput!) { closeRun(input: $input) { runNumber } }',
      {
        input: {
          runNumber,
          stoppedAt: Date.now(),
          eventCount: events,
          files: [{ path: name, sizeBytes: run.sizeBytes, md5: run.md5 }],
        },
      },
    );
    process.stderr.write('\n');
    process.stdout.write(
      `${JSON.stringify({ runNumber, pedestal, file: name, sizeBytes: run.sizeBytes, md5: run.md5, events })}\n`,
    );
  }
}
