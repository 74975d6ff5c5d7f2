import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeEnd } from '../../src/batch/BatchSystem';
import {
  HtCondor,
  condorState,
  parseCondorJson,
  submitDescription,
} from '../../src/batch/htcondor';

// HTCondor cannot run on this machine (not packaged for Debian 12): its back-end is tested on
// -json outputs in the documented format (test/fixtures/htcondor) and, for the commands it
// runs, on stand-in condor_* scripts that print them. Neither is a live schedd.
const FIXTURES = path.resolve(__dirname, '../fixtures/htcondor');
const queue = fs.readFileSync(path.join(FIXTURES, 'condor_q.json'), 'utf8');
const history = fs.readFileSync(path.join(FIXTURES, 'condor_history.json'), 'utf8');

const submission = {
  name: 'cygno-reconstruct-42-j7',
  group: 'cygno-campaign-3',
  command: ['/usr/bin/node', '/opt/cygno gateway/bin/cygno-gateway.js', 'batch-run', '--job', '7'],
  environment: { GATEWAY_URL: 'https://gw.example.org', CYGNO_JOB_TOKEN: "cjt.7.it's" },
  cpus: 2,
  memoryMb: 4096,
  timeLimitMinutes: 60,
  workDir: '/scratch/cygno',
};

describe('the HTCondor submit description', () => {
  const text = submitDescription(submission);
  const line = (key: string) => text.split('\n').find((l) => l.startsWith(`${key} = `));

  it('holds the command, the environment, the resources and the campaign as the batch name', () => {
    expect(line('executable')).toBe('executable = /usr/bin/node');
    // The new argument syntax: double quotes around all, single quotes around a word with spaces.
    expect(line('arguments')).toBe(
      `arguments = "'/opt/cygno gateway/bin/cygno-gateway.js' batch-run --job 7"`,
    );
    expect(line('environment')).toBe(
      `environment = "GATEWAY_URL=https://gw.example.org CYGNO_JOB_TOKEN='cjt.7.it''s'"`,
    );
    expect(line('request_cpus')).toBe('request_cpus = 2');
    expect(line('request_memory')).toBe('request_memory = 4096');
    expect(line('allowed_execute_duration')).toBe('allowed_execute_duration = 3600');
    expect(line('should_transfer_files')).toBe('should_transfer_files = NO');
    expect(line('+JobBatchName')).toBe('+JobBatchName = "cygno-campaign-3"');
    expect(text.trimEnd().endsWith('queue 1')).toBe(true);
    expect(text).not.toMatch(/transfer_input_files/);
  });
});

describe('HTCondor job states from -json ClassAds', () => {
  const states = new Map(
    [...parseCondorJson(queue), ...parseCondorJson(history)].map((ad) => [
      `${ad.ClusterId}.${ad.ProcId}`,
      condorState(ad),
    ]),
  );

  it('reads idle and running jobs as on their way', () => {
    expect(states.get('4107.0')).toMatchObject({ state: 'IDLE', terminal: false });
    expect(states.get('4108.0')).toMatchObject({ state: 'RUNNING', terminal: false });
  });

  it('ends a held job with its HoldReason', () => {
    const held = states.get('4109.0')!;
    expect(held).toMatchObject({ state: 'HELD', terminal: true, succeeded: false });
    expect(describeEnd('htcondor', '4109.0', held)).toMatch(
      /^htcondor job 4109.0 ended HELD, reason .*over cgroup memory limit/,
    );
  });

  it('tells a success from an exit code, a signal and a removal', () => {
    expect(states.get('4105.0')).toMatchObject({
      state: 'COMPLETED',
      succeeded: true,
      exitCode: 0,
    });
    const failed = states.get('4106.0')!;
    expect(failed).toMatchObject({ terminal: true, succeeded: false, exitCode: 3 });
    expect(describeEnd('htcondor', '4106.0', failed)).toBe(
      'htcondor job 4106.0 ended COMPLETED, exit code 3',
    );
    expect(states.get('4104.0')).toMatchObject({ succeeded: false, signal: 9 });
    expect(states.get('4103.0')).toMatchObject({
      state: 'REMOVED',
      terminal: true,
      succeeded: false,
      reason: 'via condor_rm (by user cygno)',
    });
  });

  it('reads an empty answer as no job, and refuses what is not an array of ClassAds', () => {
    expect(parseCondorJson('\n')).toEqual([]);
    expect(() => parseCondorJson('{"ClusterId": 1}')).toThrow(/array of job ClassAds/);
  });
});

describe('the HTCondor back-end on stand-in condor_* commands', () => {
  let bin: string;
  let calls: string;

  beforeAll(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-condor-'));
    calls = path.join(bin, 'calls.log');
    const tool = (name: string, body: string) =>
      fs.writeFileSync(
        path.join(bin, name),
        `#!/bin/sh\necho "${name} $*" >> ${calls}\n${body}\n`,
        { mode: 0o755 },
      );
    tool('condor_submit', 'echo "4110.0 - 4110.0"');
    tool('condor_q', `cat ${path.join(FIXTURES, 'condor_q.json')}`);
    tool('condor_history', `cat ${path.join(FIXTURES, 'condor_history.json')}`);
    tool(
      'condor_rm',
      'case "$1" in 4110.0) echo "All jobs in cluster 4110 have been marked for removal";; *) echo "Couldn\'t find/remove all jobs matching constraint (ClusterId == 999 && ProcId == 0)" >&2; exit 1;; esac',
    );
  });
  afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

  it('submits with -terse a description only its owner can read, and returns ClusterId.ProcId', async () => {
    const workDir = path.join(bin, 'work');
    const id = await new HtCondor(bin).submit({ ...submission, workDir });
    expect(id).toBe('4110.0');
    const file = path.join(workDir, `${submission.name}.sub`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(calls, 'utf8')).toContain(`condor_submit -terse ${file}`);
  });

  it('asks condor_q first and condor_history only for the jobs that left the queue', async () => {
    fs.writeFileSync(calls, '');
    const states = await new HtCondor(bin).states(['4108.0', '4106.0', '777.0']);
    expect(states.get('4108.0')?.state).toBe('RUNNING');
    expect(states.get('4106.0')?.exitCode).toBe(3);
    expect(states.has('777.0')).toBe(false); // vanished: the dispatcher's grace decides
    const log = fs.readFileSync(calls, 'utf8').trim().split('\n');
    expect(log[0]).toMatch(/^condor_q -json -attributes \S+ 4108.0 4106.0 777.0$/);
    expect(log[1]).toMatch(/^condor_history -json -attributes \S+ 4106.0 777.0$/);
  });

  it('cancels with condor_rm, a job already gone being no error', async () => {
    const condor = new HtCondor(bin);
    await condor.cancel('4110.0');
    await condor.cancel('999.0');
  });
});
