import path from 'node:path';
import { expect } from 'vitest';
import { writeSimulatedRun, type RunTruth } from '../../src/reco/simulation';
import type { TestGateway } from './gateway';

export interface TakeRunOptions {
  events: number;
  pedestal: boolean;
  side?: number;
  /** A token with the daq role (none when the gateway needs no authentication). */
  daqToken?: string;
}

/**
 * The DAQ takes a simulated run: the file written into the gateway's buffer (gzip, a ⁵⁵Fe-like
 * source), then startRun and closeRun through the API. Returns what the simulator injected.
 */
export async function takeSimulatedRun(
  gw: TestGateway,
  runNumber: number,
  options: TakeRunOptions,
): Promise<RunTruth> {
  const { pedestal } = options;
  const name = `run${String(runNumber).padStart(5, '0')}.mid.gz`;
  const { md5, truth } = await writeSimulatedRun(path.join(gw.bufferDir, name), {
    runNumber,
    events: options.events,
    side: options.side ?? 256,
    pedestal,
    gzip: true,
    rateHz: 2,
    startTime: 1_795_600_000 + runNumber * 1000,
    fe55Line: 10_000,
  });
  const description = pedestal ? 'S001:PED:pedestal run' : 'S003:DATA:Fe source';
  const started = await gw.gql(
    `mutation($input: StartRunInput!) { startRun(input: $input) { id } }`,
    { input: { runNumber, description, pedestal } },
    options.daqToken,
  );
  expect(started.errors).toBeUndefined();
  const closed = await gw.gql(
    `mutation($input: CloseRunInput!) { closeRun(input: $input) { id } }`,
    { input: { runNumber, files: [{ path: name, md5 }] } },
    options.daqToken,
  );
  expect(closed.errors).toBeUndefined();
  return truth;
}
