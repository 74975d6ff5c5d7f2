import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarm } from '../../src/entities/Alarm';
import { DqMetric } from '../../src/entities/DqMetric';
import { Run } from '../../src/entities/Run';
import { Topic } from '../../src/pubsub';
import { AlarmEventType } from '../../src/schema/enums';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { waitFor } from '../support/wait';

// A run judged out of band and its alarm are one fact: they commit together or not at all.

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const NOISY = { pedestalNoise: 9 }; // the default band is at most 4 ADC: BAD, CRITICAL
const MARKER = {
  type: AlarmEventType.RESOLVED,
  alarm: { fingerprint: 'marker', severity: 'INFO' } as Alarm,
};

describe('DQ alarms', () => {
  it('are written in the transaction of the metrics: rolled back with it, announced after it', async () => {
    const { db, pubsub, services } = gw.server.runtime;
    await gw.gql(`mutation { startRun(input: { runNumber: 901 }) { id } }`);
    const run = await db.manager.findOneByOrFail(Run, { runNumber: 901 });
    const events: unknown[] = [];
    const stop = await pubsub.listen(Topic.AlarmEvent, (event) => events.push(event));
    const alarmsOfRun = () => db.manager.findBy(Alarm, { fingerprint: 'dq:901:pedestalNoise' });

    const failed = db.transaction(async (manager) => {
      await services.dq.record(manager, run, 1, NOISY, 'pedestal');
      throw new Error('the job lost its lease');
    });
    await expect(failed).rejects.toThrow('the job lost its lease');
    expect(await db.manager.findBy(DqMetric, { runId: run.id })).toEqual([]);
    expect(await alarmsOfRun()).toEqual([]);

    const recorded = await db.transaction((manager) =>
      services.dq.record(manager, run, 1, NOISY, 'pedestal'),
    );
    // Committed with the metrics, before anyone is told.
    expect(await alarmsOfRun()).toEqual([
      expect.objectContaining({ severity: 'CRITICAL', state: 'FIRING', count: 1 }),
    ]);
    // Nothing was published yet: a marker published now arrives first (a topic keeps its order,
    // in-process and through Redis), so an early announcement would show up ahead of it.
    pubsub.publish(Topic.AlarmEvent, MARKER);
    await waitFor(() => events.length > 0, 'the marker');
    expect(events).toEqual([MARKER]);

    services.dq.announce(recorded);
    await waitFor(() => events.length > 1, 'the announcement');
    expect(events).toEqual([
      MARKER,
      expect.objectContaining({
        type: 'RAISED',
        alarm: expect.objectContaining({ fingerprint: 'dq:901:pedestalNoise' }),
      }),
    ]);
    stop();
  });
});
