import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarm } from '../../src/entities/Alarm';
import { Job } from '../../src/entities/Job';
import { Run } from '../../src/entities/Run';
import { AlarmRuleKind, AlarmState, JobKind, JobState, Severity } from '../../src/schema/enums';
import { openTestRuntime, type TestRuntime } from '../support/runtime';

// The alarm engine's pipeline and DQ rules against the real database.

let test: TestRuntime;
beforeAll(async () => {
  test = await openTestRuntime({ ALARM_EVAL_MS: '0' });
});
afterAll(async () => {
  await test?.close();
});

const openJobAlarms = () =>
  test.runtime.db.manager
    .createQueryBuilder(Alarm, 'alarm')
    .where('alarm.openFingerprint LIKE :prefix', { prefix: 'job-failed:%' })
    .getMany();

describe('alarm engine', () => {
  it('keeps an alarm per failed job past any page size, and resolves only those no longer failed', async () => {
    const { db, services } = test.runtime;
    const failed = 620; // more than one pass raises, more than the old page of 500
    await db.transaction((m) =>
      m.insert(
        Job,
        Array.from({ length: failed }, (_, i) => ({
          kind: JobKind.INGEST,
          subject: `engine:${i}`,
          state: JobState.FAILED,
          attempts: 3,
          lastError: `disk full ${i}`,
          nextAttemptAt: new Date(),
          payload: {},
        })),
      ),
    );
    // A mass failure is raised over a few passes; no pass resolves what another raised.
    for (let pass = 1; pass <= 4; pass++) await services.alarmEngine.evaluate();
    const open = await openJobAlarms();
    expect(open).toHaveLength(failed);
    expect(open.every((a) => a.count === 1)).toBe(true); // raised once, not once a pass

    const jobs = await db.manager.find(Job, {
      where: { kind: JobKind.INGEST },
      order: { id: 'ASC' },
    });
    const retried = jobs[0]; // the oldest: the one a page of the newest 500 would miss
    await test.runtime.queue.retry(retried.id);
    await services.alarmEngine.evaluate();
    const after = await openJobAlarms();
    expect(after).toHaveLength(failed - 1);
    expect(after.map((a) => a.fingerprint)).not.toContain(`job-failed:${retried.id}`);
    const resolved = await db.manager.findOneByOrFail(Alarm, {
      fingerprint: `job-failed:${retried.id}`,
    });
    expect(resolved.state).toBe(AlarmState.RESOLVED);
  });

  it('judges a DQ_BAND rule when a run is reconstructed: flag and alarm with its severity', async () => {
    const { db, services } = test.runtime;
    const created = await services.alarmRules.upsert({
      name: 'light-yield-low',
      kind: AlarmRuleKind.DQ_BAND,
      metric: 'lightYieldAdcPerKeV',
      below: 1000,
      severity: Severity.CRITICAL,
      labels: { subsystem: 'camera' },
    });
    expect(created.kind).toBe(AlarmRuleKind.DQ_BAND);
    await db.write((m) => m.insert(Run, { runNumber: 77, attributes: {} }));
    const run = await db.manager.findOneByOrFail(Run, { runNumber: 77 });
    const record = (lightYield: number) =>
      db.transaction((m) =>
        services.dq.record(m, run, 1, { lightYieldAdcPerKeV: lightYield }, 'reconstruction'),
      );

    expect(await record(1500)).toEqual([]); // in band
    const [alarm] = await record(800);
    expect(alarm.alarm).toMatchObject({
      fingerprint: 'dq:77:lightYieldAdcPerKeV',
      severity: 'CRITICAL',
      state: 'FIRING',
    });
    expect(alarm.alarm.message).toMatch(/lightYieldAdcPerKeV = 800 is below 1000/);
    const flags = await services.quality.currentByRunIds([run.id]);
    expect(flags).toEqual([
      expect.objectContaining({ subsystem: 'camera', status: 'BAD', source: 'AUTO' }),
    ]);

    // A rule an admin disabled judges nothing.
    await services.alarmRules.upsert({ ...created, enabled: false });
    expect(await record(700)).toEqual([]);
  });

  it('refuses a DQ_BAND rule without a metric or a bound', async () => {
    const { services } = test.runtime;
    await expect(
      services.alarmRules.upsert({ name: 'x', kind: AlarmRuleKind.DQ_BAND, above: 1 }),
    ).rejects.toThrow(/needs a DQ metric/);
    await expect(
      services.alarmRules.upsert({ name: 'x', kind: AlarmRuleKind.DQ_BAND, metric: 'x' }),
    ).rejects.toThrow(/needs above or below/);
  });
});
