import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { Cluster } from '../../src/entities/Cluster';
import { DataFile } from '../../src/entities/DataFile';
import { DqMetric } from '../../src/entities/DqMetric';
import { Event } from '../../src/entities/Event';
import { FileDeletion } from '../../src/entities/FileDeletion';
import { EventPreview } from '../../src/entities/EventPreview';
import { Job } from '../../src/entities/Job';
import { QualityFlag } from '../../src/entities/QualityFlag';
import { Run } from '../../src/entities/Run';
import { TapeCopy } from '../../src/entities/TapeCopy';
import { FlagSource, JobKind, QualityStatus, RunState, TapeState } from '../../src/schema/enums';
import { startTestGateway, type TestGateway } from '../support/gateway';

/** Counts SELECT statements while `counting` is on. */
class CountingLogger implements TypeOrmLogger {
  counting = false;
  selects: string[] = [];
  logQuery(query: string) {
    if (this.counting && /^\s*SELECT/i.test(query)) this.selects.push(query);
  }
  logQueryError() {}
  logQuerySlow() {}
  logSchemaBuild() {}
  logMigration() {}
  log() {}
}

const sql = new CountingLogger();
let gw: TestGateway;

beforeAll(async () => {
  // No change log: its follower's reads on a timer are not the API's statements.
  gw = await startTestGateway({ sqlLogger: sql, env: { WORKERS: '0', CHANGE_LOG: 'false' } });
  const db = gw.server.runtime.db;
  // 120 runs, each with 2 files (one with a tape copy), 2 quality flags and a job, written in bulk.
  await db.transaction(async (m) => {
    const runs = Array.from({ length: 120 }, (_, i) => ({
      runNumber: 1000 + i,
      state: RunState.CLOSED,
      startedAt: new Date(Date.UTC(2026, 0, 1) + i * 60_000),
      attributes: {},
    }));
    await m.insert(Run, runs);
    const saved = await m.find(Run);
    await m.insert(
      DataFile,
      saved.flatMap((run) => [
        { runId: run.id, name: `run${run.runNumber}.mid` },
        { runId: run.id, name: `reco${run.runNumber}.arrow` },
      ]),
    );
    const files = await m.find(DataFile);
    await m.insert(
      TapeCopy,
      files
        .filter((_, i) => i % 2 === 0)
        .map((f) => ({ fileId: f.id, endpoint: 'cnaf', state: TapeState.ON_TAPE })),
    );
    await m.insert(
      QualityFlag,
      saved.flatMap((run) =>
        ['camera', 'pmt'].map((subsystem) => ({
          runId: run.id,
          subsystem,
          status: QualityStatus.GOOD,
          source: FlagSource.AUTO,
          setBy: 'reco',
          setAt: new Date(),
        })),
      ),
    );
    await m.insert(
      Job,
      saved.map((run) => ({
        kind: JobKind.INGEST,
        subject: `run:${run.runNumber}`,
        runId: run.id,
        runNumber: run.runNumber,
        nextAttemptAt: new Date(),
        payload: {},
      })),
    );
    // DQ metrics at two reconstruction versions (the newest is shown by default), and a
    // retention deletion of every other file.
    await m.insert(
      DqMetric,
      saved.flatMap((run) =>
        [1, 2].flatMap((recoVersion) =>
          ['pedestalNoise', 'sparkFraction'].map((name) => ({
            runId: run.id,
            name,
            value: recoVersion * 10 + (name === 'pedestalNoise' ? 1 : 2),
            recoVersion,
          })),
        ),
      ),
    );
    await m.insert(
      FileDeletion,
      files
        .filter((_, i) => i % 2 === 1)
        .map((f) => ({
          fileId: f.id,
          location: 'BUFFER',
          reason: 'on tape',
          deletedBy: 'retention',
          deletedAt: new Date(),
        })),
    );
    // 120 events of the first run, two clusters each.
    const first = saved.find((run) => run.runNumber === 1000)!;
    const raw = files.find((f) => f.runId === first.id)!;
    await m.insert(
      Event,
      Array.from({ length: 120 }, (_, serial) => ({
        runId: first.id,
        fileId: raw.id,
        serial,
        eventId: 1,
        triggerMask: 1,
        timestamp: new Date(Date.UTC(2026, 0, 1) + serial * 1000),
        fileOffset: serial * 1024,
        sizeBytes: 1024,
        bankNames: ['CAM0', 'DGH0'],
      })),
    );
    const events = await m.findBy(Event, { runId: first.id });
    await m.insert(
      Cluster,
      events.flatMap((event) =>
        [1, 2].map((k) => ({
          eventId: event.id,
          runId: first.id,
          recoVersion: 1,
          ...{ integral: k * 1000, nhits: 10, size: 10, length: 5, width: 2, theta: 0 },
          ...{ xMean: k, yMean: k, xMin: 0, xMax: 4, yMin: 0, yMax: 4 },
          ...{ rms: 1, longitudinalRms: 1, transverseRms: 1, energy: null },
        })),
      ),
    );
    // Two camera previews per run: the newer one is the run's latestPreview.
    await m.insert(
      EventPreview,
      saved.flatMap((run) =>
        [1, 2].map((k) => ({
          runId: run.id,
          eventId: run.id * 10 + k,
          width: 288,
          height: 288,
          rebin: k,
          objectKey: `previews/run${run.runNumber}_${k}.png`,
        })),
      ),
    );
  });
});
afterAll(async () => {
  await gw?.close();
});

async function selectsFor(query: string, first: number): Promise<string[]> {
  sql.selects = [];
  sql.counting = true;
  const res = await gw.gql(query, { first });
  sql.counting = false;
  expect(res.errors).toBeUndefined();
  expect((Object.values(res.data)[0] as { nodes: unknown[] }).nodes).toHaveLength(first);
  return sql.selects;
}

describe('DataLoader batching', () => {
  it('issues as many SQL statements for 100 runs as for 5, with every list field of Run, DataFile and Job', async () => {
    const five = await selectsFor(PAGE, 5);
    const hundred = await selectsFor(PAGE, 100);
    expect(hundred.length).toBe(five.length);
    // runs + files + tape copies + deletions + the run of each file + quality flags + history
    // + DQ metrics of the newest version + of version 1 + jobs + the run of each job + previews
    expect(hundred.length).toBeLessThanOrEqual(12);
  });

  it('issues as many SQL statements for 100 events as for 5, with every list field of Event', async () => {
    const five = await selectsFor(EVENT_PAGE, 5);
    const hundred = await selectsFor(EVENT_PAGE, 100);
    expect(hundred.length).toBe(five.length);
    // the run + events + clusters + previews + the run number of each event
    expect(hundred.length).toBeLessThanOrEqual(5);
  });

  it('returns the right metrics, history, deletions and clusters for each item', async () => {
    const res = await gw.gql(PAGE, { first: 3 });
    for (const run of res.data.runs.nodes) {
      expect(run.dqMetrics).toEqual([
        { name: 'pedestalNoise', value: 21, recoVersion: 2 },
        { name: 'sparkFraction', value: 22, recoVersion: 2 },
      ]);
      expect(run.firstVersion.map((m: { value: number }) => m.value)).toEqual([11, 12]);
      expect(run.qualityHistory.map((f: { subsystem: string }) => f.subsystem).sort()).toEqual([
        'camera',
        'pmt',
      ]);
      expect(run.cameraHistory).toEqual([{ subsystem: 'camera' }]);
      const deletions = run.files.map((f: { deletions: unknown[] }) => f.deletions.length);
      expect(deletions.sort()).toEqual([0, 1]);
      for (const file of run.files) expect(file.run.runNumber).toBe(run.runNumber);
    }
    const events = (await gw.gql(EVENT_PAGE, { first: 3 })).data.events.nodes;
    for (const event of events) {
      expect(event.runNumber).toBe(1000);
      expect(event.clusters.map((c: { integral: number }) => c.integral)).toEqual([1000, 2000]);
    }
  });

  it('returns the right children for each run', async () => {
    const res = await gw.gql(PAGE, { first: 3 });
    for (const run of res.data.runs.nodes) {
      expect(run.files.map((f: { name: string }) => f.name).sort()).toEqual([
        `reco${run.runNumber}.arrow`,
        `run${run.runNumber}.mid`,
      ]);
      expect(run.files.flatMap((f: { tapeCopies: unknown[] }) => f.tapeCopies)).toHaveLength(1);
      expect(run.qualityFlags.map((f: { subsystem: string }) => f.subsystem).sort()).toEqual([
        'camera',
        'pmt',
      ]);
      expect(run.jobs).toEqual([{ kind: 'INGEST', run: { runNumber: run.runNumber } }]);
      expect(run.latestPreview).toEqual({ rebin: 2 });
    }
  });
});

const PAGE = `query($first: Int) {
  runs(first: $first) {
    nodes {
      runNumber startedAt
      files {
        name sizeBytes cloudState downloadUrl
        tapeCopies { state endpoint }
        deletions { location reason }
        run { runNumber }
      }
      qualityFlags { subsystem status }
      qualityHistory { subsystem status }
      cameraHistory: qualityHistory(subsystem: "camera") { subsystem }
      dqMetrics { name value recoVersion }
      firstVersion: dqMetrics(recoVersion: 1) { value }
      jobs { kind run { runNumber } }
      latestPreview { rebin }
    }
  }
}`;

const EVENT_PAGE = `query($first: Int) {
  events(runNumber: 1000, first: $first) {
    nodes { serial runNumber bankNames clusters { integral } preview { rebin } }
  }
}`;
