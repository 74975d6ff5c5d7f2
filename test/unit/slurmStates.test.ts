import { describe, expect, it } from 'vitest';
import { describeEnd, slurmStatesOf } from '../../src/batch/BatchSystem';

// Slurm's job list as slurmrestd v0.0.38 (GET /jobs) and `squeue --json` of 22.05 give it:
// every job the controller holds, the raw wait status in exit_code. The states a single-node
// test cluster cannot produce on demand (NODE_FAIL, OUT_OF_MEMORY, PREEMPTED) are read here.
const JOBS = [
  { job_id: 11, job_state: 'RUNNING', exit_code: 0, state_reason: 'None' },
  { job_id: 12, job_state: 'PENDING', exit_code: 0, state_reason: 'Resources' },
  { job_id: 13, job_state: 'COMPLETED', exit_code: 0, state_reason: 'None' },
  { job_id: 14, job_state: 'FAILED', exit_code: 768, state_reason: 'NonZeroExitCode' },
  { job_id: 15, job_state: 'TIMEOUT', exit_code: 0, state_reason: 'TimeLimit' },
  { job_id: 16, job_state: 'OUT_OF_MEMORY', exit_code: 0, state_reason: 'OutOfMemory' },
  { job_id: 17, job_state: 'NODE_FAIL', exit_code: 0, state_reason: 'NodeDown' },
  { job_id: 18, job_state: 'PREEMPTED', exit_code: 0, state_reason: 'None' },
  { job_id: 19, job_state: 'FAILED', exit_code: 9, state_reason: 'JobLaunchFailure' },
  { job_id: 20, job_state: 'CANCELLED', exit_code: 15, state_reason: 'None' },
];

describe('Slurm job states', () => {
  const ids = ['11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '99'];
  const states = slurmStatesOf(JOBS, ids);
  const end = (id: string) => describeEnd('slurm', id, states.get(id)!);

  it('keeps pending and running jobs on their way, and only the ids asked for', () => {
    expect(states.get('11')).toMatchObject({ terminal: false });
    expect(states.get('12')).toMatchObject({ terminal: false, reason: 'Resources' });
    expect(states.has('99')).toBe(false);
    expect(slurmStatesOf(JOBS, ['13']).size).toBe(1);
  });

  it('reads the raw wait status: exit code in the high byte, signal in the low bits', () => {
    expect(states.get('13')).toMatchObject({ terminal: true, succeeded: true, exitCode: 0 });
    expect(end('14')).toBe('slurm job 14 ended FAILED, exit code 3, reason NonZeroExitCode');
    expect(end('19')).toBe('slurm job 19 ended FAILED, signal 9, reason JobLaunchFailure');
    expect(end('20')).toBe('slurm job 20 ended CANCELLED, signal 15');
  });

  it('ends every terminal state as a failure with its reason', () => {
    expect(end('15')).toBe('slurm job 15 ended TIMEOUT, reason TimeLimit');
    expect(end('16')).toBe('slurm job 16 ended OUT_OF_MEMORY, reason OutOfMemory');
    expect(end('17')).toBe('slurm job 17 ended NODE_FAIL, reason NodeDown');
    expect(end('18')).toBe('slurm job 18 ended PREEMPTED');
    for (const id of ['14', '15', '16', '17', '18', '19', '20'])
      expect(states.get(id)).toMatchObject({ terminal: true, succeeded: false });
  });
});
