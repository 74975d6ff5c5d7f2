import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Logger as TypeOrmLogger } from 'typeorm';
import { DataFile } from '../../src/entities/DataFile';
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
  gw = await startTestGateway({ sqlLogger: sql, env: { WORKERS: '0' } });
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

async function selectsFor(first: number): Promise<string[]> {
  sql.selects = [];
  sql.counting = true;
  const res = await gw.gql(PAGE, { first });
  sql.counting = false;
  expect(res.errors).toBeUndefined();
  expect(res.data.runs.nodes).toHaveLength(first);
  return sql.selects;
}

describe('DataLoader batching', () => {
  it('issues as many SQL statements for 100 runs as for 5', async () => {
    const five = await selectsFor(5);
    const hundred = await selectsFor(100);
    expect(hundred.length).toBe(five.length);
    // runs + files + tape copies + quality flags + jobs + the run of each job + previews
    expect(hundred.length).toBeLessThanOrEqual(7);
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
      files { name sizeBytes cloudState tapeCopies { state endpoint } }
      qualityFlags { subsystem status }
      jobs { kind run { runNumber } }
      latestPreview { rebin }
    }
  }
}`;
