import type { Database } from '../../src/db/Database';
import { bindDate, bulkInsert } from '../../src/db/bulkInsert';
import { DataFile } from '../../src/entities/DataFile';
import { Run } from '../../src/entities/Run';
import { CLUSTER_FEATURE_NAMES } from '../../src/reco/image/features';
import { FileKind, ReplicaState, RunState } from '../../src/schema/enums';
import { EVENT_INDEX_COLUMNS } from '../../src/services/eventIndex';

export interface SeedOptions {
  firstRun?: number;
  runs: number;
  eventsPerRun: number;
  clustersPerEvent: number;
  recoVersion?: number;
  runType?: string;
}

const EVENT_COLUMNS = [
  'id',
  ...EVENT_INDEX_COLUMNS,
  'clusterCount',
  'imageIntegral',
  'imageMean',
  'imageRms',
  'spark',
];

export const SEEDED_CLUSTER_COLUMNS = [
  'id',
  'eventId',
  'runId',
  'recoVersion',
  ...CLUSTER_FEATURE_NAMES,
];

/** A cheap deterministic generator (the same database every time). */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/**
 * Fills the database with closed DATA runs, their indexed events and reconstructed clusters
 * (plausible `sc_*` values, not a reconstruction), with multi-row INSERTs: a million clusters
 * in seconds, for the export's tests and benchmark.
 */
export async function seedClusters(db: Database, options: SeedOptions): Promise<void> {
  const random = lcg(options.firstRun ?? 1);
  const version = options.recoVersion ?? 1;
  const [{ maxEvent }] = await db.manager.query('SELECT MAX(id) AS maxEvent FROM events');
  const [{ maxCluster }] = await db.manager.query('SELECT MAX(id) AS maxCluster FROM clusters');
  let eventId = Number(maxEvent ?? 0);
  let clusterId = Number(maxCluster ?? 0);
  for (let r = 0; r < options.runs; r++) {
    const runNumber = (options.firstRun ?? 1) + r;
    await db.transaction(async (m) => {
      const started = new Date(Date.UTC(2026, 10, 1) + runNumber * 3_600_000);
      const run = await m.save(
        m.create(Run, {
          runNumber,
          state: RunState.CLOSED,
          runType: options.runType ?? 'DATA',
          startedAt: started,
          stoppedAt: new Date(started.getTime() + 1_800_000),
          attributes: {},
        }),
      );
      const file = await m.save(
        m.create(DataFile, {
          runId: run.id,
          name: `run${String(runNumber).padStart(5, '0')}.mid.gz`,
          kind: FileKind.RAW,
          cloudState: ReplicaState.AVAILABLE,
        }),
      );
      const events: unknown[][] = [];
      const clusters: unknown[][] = [];
      for (let e = 0; e < options.eventsPerRun; e++) {
        eventId++;
        const count = options.clustersPerEvent;
        events.push([
          eventId,
          run.id,
          file.id,
          e,
          e + 1,
          1,
          bindDate(m, new Date(started.getTime() + e * 500)),
          e * 10_617_000,
          10_617_000,
          'CAM0,DGH0',
          count,
          random() * 1e6,
          100 + random(),
          2 + random(),
          e % 97 === 0 ? 1 : 0,
        ]);
        for (let c = 0; c < count; c++) {
          const x = Math.floor(random() * 2300);
          const y = Math.floor(random() * 2300);
          const size = 10 + Math.floor(random() * 500);
          clusters.push([
            ++clusterId,
            eventId,
            run.id,
            version,
            Math.round(random() * 20_000 * 100) / 100,
            size - 3,
            size,
            5 + random() * 100,
            2 + random() * 10,
            random() * Math.PI,
            x + random(),
            y + random(),
            x,
            x + 20,
            y,
            y + 20,
            1 + random() * 5,
            2 + random() * 5,
            1 + random() * 2,
            c % 3 === 0 ? null : random() * 60,
          ]);
        }
      }
      await bulkInsert(m, 'events', EVENT_COLUMNS, events);
      await bulkInsert(m, 'clusters', SEEDED_CLUSTER_COLUMNS, clusters);
    });
  }
}
