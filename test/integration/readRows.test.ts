import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRows } from '../../src/db/readRows';
import type { JsonObject } from '../../src/entities/columns';
import { Alarm, DataFile, Event, Job, QualityFlag, Run } from '../../src/entities';
import type { Runtime } from '../../src/runtime';
import {
  AlarmState,
  FileKind,
  FlagSource,
  JobKind,
  QualityStatus,
  ReplicaState,
  RunState,
  Severity,
} from '../../src/schema/enums';
import { openTestRuntime, type TestRuntime } from '../support/runtime';

// readRows must give exactly what TypeORM's getMany gives, for every column type in use.

let runtime: Runtime;
let testRuntime: TestRuntime;

beforeAll(async () => {
  testRuntime = await openTestRuntime();
  runtime = testRuntime.runtime;
  await runtime.db.transaction(async (m) => {
    await m.insert(Run, [
      {
        runNumber: 1,
        state: RunState.CLOSED,
        description: 'S003:DATA:x',
        startedAt: new Date('2026-11-24T18:00:00.123Z'),
        stoppedAt: null,
        pedestal: true,
        exposureSeconds: 12.5,
        attributes: { hv: [440, 450], gas: { flow: 2.5 } } as JsonObject,
      },
      { runNumber: 2, attributes: {} },
    ]);
    const run = await m.findOneByOrFail(Run, { runNumber: 1 });
    const { identifiers } = await m.insert(DataFile, {
      runId: run.id,
      name: 'run00001.mid.gz',
      kind: FileKind.RAW,
      sizeBytes: 5_000_000_000,
      cloudState: ReplicaState.AVAILABLE,
      md5: 'a'.repeat(32),
    });
    await m.insert(Event, [
      {
        runId: run.id,
        fileId: identifiers[0].id,
        serial: 0,
        eventId: 1,
        triggerMask: 0,
        timestamp: new Date('2026-11-24T18:00:01Z'),
        fileOffset: 2 ** 40,
        sizeBytes: 100,
        bankNames: ['CAM0', 'DGH0'],
        spark: false,
      },
      {
        runId: run.id,
        fileId: identifiers[0].id,
        serial: 1,
        eventId: 1,
        triggerMask: 0,
        timestamp: new Date('2026-11-24T18:00:02Z'),
        fileOffset: 0,
        sizeBytes: 16,
        bankNames: [],
      },
    ]);
    await m.insert(QualityFlag, {
      runId: run.id,
      subsystem: 'camera',
      status: QualityStatus.GOOD,
      source: FlagSource.SHIFTER,
      setBy: 'x',
      setAt: new Date('2026-11-24T19:00:00.5Z'),
      comment: null,
    });
    await m.insert(Job, {
      kind: JobKind.INGEST,
      subject: 'run:1',
      runId: run.id,
      runNumber: 1,
      nextAttemptAt: new Date(),
      payload: { a: 1 } as JsonObject,
      result: null,
    });
    await m.insert(Alarm, {
      fingerprint: 'f',
      name: 'n',
      severity: Severity.WARNING,
      source: 's',
      message: 'm',
      labels: { run: '1' },
      state: AlarmState.FIRING,
      firstRaisedAt: new Date(),
      lastRaisedAt: new Date(),
    });
  });
});
afterAll(async () => {
  await testRuntime?.close();
});

describe('readRows', () => {
  it.each(
    [Run, DataFile, Event, QualityFlag, Job, Alarm].map((entity) => [entity.name, entity] as const),
  )('reads %s like getMany', async (_name, entity) => {
    const query = () =>
      runtime.db.manager.createQueryBuilder(entity as typeof Run, 'e').orderBy('e.id', 'ASC');
    const expected = (await query().getMany()).map((row) => ({ ...row }));
    expect(expected.length).toBeGreaterThan(0);
    expect(await readRows(query())).toEqual(expected);
  });

  it('reads only the projected columns', async () => {
    const rows = await readRows(
      runtime.db.manager.createQueryBuilder(Run, 'run').orderBy('run.id'),
      ['id', 'runNumber', 'startedAt'],
    );
    expect(rows).toEqual([
      { id: expect.any(Number), runNumber: 1, startedAt: new Date('2026-11-24T18:00:00.123Z') },
      { id: expect.any(Number), runNumber: 2, startedAt: null },
    ]);
  });
});
