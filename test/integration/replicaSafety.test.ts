import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Role } from '../../src/auth/roles';
import { loadConfig } from '../../src/config';
import { DataFile } from '../../src/entities/DataFile';
import { Job } from '../../src/entities/Job';
import { TapeCopy } from '../../src/entities/TapeCopy';
import { Adler32 } from '../../src/reco/checksums';
import { Runtime } from '../../src/runtime';
import {
  FileKind,
  JobKind,
  JobState,
  LocalState,
  ReplicaState,
  TapeState,
} from '../../src/schema/enums';
import { RetentionService } from '../../src/services/RetentionService';
import { recordDerivedFile } from '../../src/services/derivedFiles';
import { Run } from '../../src/entities/Run';
import { Readable } from 'node:stream';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { drainJobs } from '../support/drainJobs';
import { testRedisPrefix } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { startTapeDoor, type TapeDoor } from '../support/tapeDoor';
import { md5, readAll } from '../support/bytes';

// DESIGN §6: "space is freed only where a verified replica remains". Random sequences of
// ingest / tape copy / tape failures / retention / recall / restart steps run against the real
// runtime (database, object store, a WebDAV tape door), and after every step every raw file must
// still have a verified replica somewhere: its buffer file, its cloud object or its tape copy,
// each checked byte for byte against the checksums ingestion measured.

type Step =
  | { op: 'ingest'; run: number }
  | { op: 'copy' }
  | { op: 'tapeDown' }
  | { op: 'tapeUp' }
  | { op: 'corruptNextPut' }
  | { op: 'retryFailed' }
  | { op: 'reduce'; run: number }
  | {
      op: 'retention';
      buffer: 'off' | 'after-cloud' | 'after-tape';
      cloudDays: number;
      cloudRaw: 'keep' | 'when-reduced';
      ageDays: number;
    }
  | { op: 'recall'; run: number }
  | { op: 'restart' };

const RUNS = [1, 2, 3];
const ingest = fc.constantFrom(...RUNS).map((run) => ({ op: 'ingest' as const, run }));
const step: fc.Arbitrary<Step> = fc.oneof(
  ingest,
  fc.constant({ op: 'copy' as const }),
  fc.constant({ op: 'tapeDown' as const }),
  fc.constant({ op: 'tapeUp' as const }),
  fc.constant({ op: 'corruptNextPut' as const }),
  fc.constant({ op: 'retryFailed' as const }),
  fc.record({
    op: fc.constant('retention' as const),
    buffer: fc.constantFrom('off' as const, 'after-cloud' as const, 'after-tape' as const),
    cloudDays: fc.constantFrom(0, 1, 30),
    cloudRaw: fc.constantFrom('keep' as const, 'when-reduced' as const),
    ageDays: fc.constantFrom(0, 2, 60),
  }),
  fc.constantFrom(...RUNS).map((run) => ({ op: 'reduce' as const, run })),
  fc.constantFrom(...RUNS).map((run) => ({ op: 'recall' as const, run })),
  fc.constant({ op: 'restart' as const }),
);

class Scenario {
  runtime!: Runtime;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-replicas-'));
  private down = false;

  constructor(
    private readonly database: TestDatabase,
    private readonly door: TapeDoor,
    private readonly tapePrefix: string,
  ) {}

  config() {
    return loadConfig({
      DATABASE_URL: this.database.url,
      OBJECT_STORE_URL: `file:${path.join(this.dir, 'objects')}`,
      TAPE_URL: `${this.door.url}${this.tapePrefix}/`,
      TAPE_TOKEN_FILE: path.join(this.dir, 'token'),
      DAQ_BUFFER_DIR: path.join(this.dir, 'buffer'),
      REDIS_URL: process.env.REDIS_URL,
      REDIS_PREFIX: testRedisPrefix(this.database.url),
      WORKERS: '0',
      JOB_MAX_ATTEMPTS: '2',
      JOB_BACKOFF_BASE_MS: '0',
      JOB_BACKOFF_MAX_MS: '0',
      LOG_LEVEL: 'silent',
    });
  }

  async open(): Promise<void> {
    fs.mkdirSync(path.join(this.dir, 'buffer'), { recursive: true });
    fs.writeFileSync(path.join(this.dir, 'token'), 'property-token');
    this.runtime = await Runtime.open(this.config());
  }

  async apply(s: Step): Promise<void> {
    const { runtime } = this;
    switch (s.op) {
      case 'ingest': {
        const name = `run${String(s.run).padStart(5, '0')}.mid`;
        const file = path.join(this.dir, 'buffer', name);
        if (fs.existsSync(file) || (await runtime.db.manager.countBy(DataFile, { name })) > 0)
          return;
        const content = smallMidasRun(s.run, 2, 48);
        fs.writeFileSync(file, content);
        await runtime.services.runs.close(
          { runNumber: s.run, files: [{ path: name, md5: md5(content) }] },
          { name: 'daq', roles: [Role.DAQ] },
        );
        await drainJobs(runtime, [JobKind.INGEST]);
        return;
      }
      case 'copy':
        await drainJobs(runtime, [JobKind.TAPE_COPY, JobKind.TAPE_RECALL]);
        return;
      case 'tapeDown':
        if (!this.down) await this.door.down();
        this.down = true;
        return;
      case 'tapeUp':
        if (this.down) await this.door.up();
        this.down = false;
        return;
      case 'corruptNextPut':
        this.door.corruptNextPut();
        return;
      case 'retryFailed': {
        const failed = await runtime.db.manager.findBy(Job, {
          kind: JobKind.TAPE_COPY,
          state: JobState.FAILED,
        });
        for (const job of failed) await runtime.queue.retry(job.id);
        return;
      }
      case 'reduce': {
        // What RECONSTRUCT leaves when REDUCTION is on: the run's reduced file on the cloud store.
        const run = await runtime.db.manager.findOneBy(Run, { runNumber: s.run });
        if (!run) return;
        const bytes = Buffer.from(`regions of interest of run ${s.run}`);
        const objectKey = `LNGS/reco/run${String(s.run).padStart(5, '0')}_v1_roi.npz`;
        await runtime.store.put(objectKey, Readable.from([bytes]), bytes.length);
        await runtime.db.transaction((m) =>
          recordDerivedFile(m, {
            runId: run.id,
            name: objectKey.slice(objectKey.lastIndexOf('/') + 1),
            kind: FileKind.REDUCED,
            bucket: runtime.store.bucket,
            objectKey,
            sizeBytes: bytes.length,
            md5: md5(bytes),
          }),
        );
        return;
      }
      case 'retention': {
        const retention = new RetentionService(
          runtime.db,
          runtime.store,
          runtime.services.tape.tape,
          {
            buffer: s.buffer,
            cloudDays: s.cloudDays,
            cloudRaw: s.cloudRaw,
            bufferDir: path.join(this.dir, 'buffer'),
          },
        );
        await retention.apply('property-test', new Date(Date.now() + s.ageDays * 86_400_000));
        return;
      }
      case 'recall': {
        const file = await runtime.db.manager.findOneBy(DataFile, {
          name: `run${String(s.run).padStart(5, '0')}.mid`,
        });
        if (!file || file.cloudState !== ReplicaState.DELETED) return;
        await runtime.services.tape.requestRecall(file.id).catch(() => undefined); // no tape copy: refused
        await drainJobs(runtime, [JobKind.TAPE_RECALL]);
        return;
      }
      case 'restart':
        await runtime.close();
        await this.open();
        return;
    }
  }

  /**
   * Every raw file keeps a replica that matches ingestion's checksums, byte for byte. Returns
   * how many files it checked, so that a round cannot pass by having none.
   */
  async assertReplicas(history: Step[]): Promise<number> {
    const { runtime } = this;
    const files = await runtime.db.manager.findBy(DataFile, { kind: FileKind.RAW });
    for (const file of files) {
      const where: string[] = [];
      if (
        file.localState !== LocalState.DELETED &&
        file.localPath &&
        fs.existsSync(file.localPath)
      ) {
        if (md5(fs.readFileSync(file.localPath)) === file.declaredMd5) where.push('buffer');
      }
      if (file.cloudState === ReplicaState.AVAILABLE && file.objectKey) {
        const bytes = await readAll(await runtime.store.get(file.objectKey)).catch(() => null);
        if (bytes && md5(bytes) === file.md5) where.push('cloud');
      }
      const copy = await runtime.db.manager.findOneBy(TapeCopy, {
        fileId: file.id,
        state: TapeState.ON_TAPE,
      });
      if (copy?.verifiedAt) {
        const onTape = path.join(this.door.dir, this.tapePrefix, file.objectKey ?? file.name);
        if (
          fs.existsSync(onTape) &&
          new Adler32().update(fs.readFileSync(onTape)).hex() === file.adler32
        )
          where.push('tape');
      }
      expect(where, `${file.name} after ${JSON.stringify(history)}`).not.toEqual([]);
    }
    return files.length;
  }

  async close(): Promise<void> {
    if (this.down) await this.door.up();
    await this.runtime.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('replica safety (property-based)', () => {
  let door: TapeDoor;
  beforeAll(async () => {
    door = await startTapeDoor({ token: 'property-token' });
  });
  afterAll(async () => door?.close());

  it(
    'keeps a verified replica of every raw file after every step',
    { timeout: 240_000 },
    async () => {
      let round = 0;
      await fc.assert(
        // Every round starts with an ingest, so that it always has a raw file to keep safe.
        fc.asyncProperty(
          fc.tuple(ingest, fc.array(step, { minLength: 3, maxLength: 13 })),
          async ([first, rest]) => {
            const steps: Step[] = [first, ...rest];
            const database = await createTestDatabase();
            const scenario = new Scenario(database, door, `round${round++}`);
            await scenario.open();
            const history: Step[] = [];
            try {
              for (const s of steps) {
                history.push(s);
                await scenario.apply(s);
                const checked = await scenario.assertReplicas(history);
                expect(checked, `raw files after ${JSON.stringify(history)}`).toBeGreaterThan(0);
              }
            } finally {
              await scenario.close();
              await database.drop();
            }
          },
        ),
        {
          numRuns: Number(process.env.PROPERTY_RUNS ?? 60),
          seed: Number(process.env.PROPERTY_SEED ?? 20261125),
          // Always tried: a reduced run whose buffer and cloud copies both qualify for freeing
          // before any tape copy exists (when-reduced must wait for the tape).
          examples: [
            [
              [
                { op: 'ingest', run: 1 },
                [
                  { op: 'reduce', run: 1 },
                  {
                    op: 'retention',
                    buffer: 'after-cloud',
                    cloudDays: 0,
                    cloudRaw: 'when-reduced',
                    ageDays: 0,
                  },
                  { op: 'copy' },
                  {
                    op: 'retention',
                    buffer: 'after-tape',
                    cloudDays: 0,
                    cloudRaw: 'when-reduced',
                    ageDays: 0,
                  },
                  { op: 'recall', run: 1 },
                ],
              ],
            ],
          ],
        },
      );
    },
  );
});
