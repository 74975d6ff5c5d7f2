import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adler32 } from '../../src/reco/checksums';
import {
  FileTapeStore,
  TapeAuthError,
  TokenFile,
  WebDavTapeStore,
  adler32FromDigest,
} from '../../src/tape';
import { adler32Of } from '../../src/tape/checksumStream';
import { Readable } from 'node:stream';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { startTapeDoor, type TapeDoor } from '../support/tapeDoor';
import { readWhenDone, waitFor } from '../support/wait';
import { md5 } from '../support/bytes';

const adler = (b: Buffer) => new Adler32().update(b).hex();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-tape-test-'));

const FILE = `files { id name cloudState localState sizeBytes adler32
  tapeCopies { state attempts verifiedChecksum verifiedAt lastError url endpoint }
  deletions { location reason deletedBy deletedAt } }`;
const RUN = `query($n: Int!) { run(runNumber: $n) { ${FILE} jobs { kind state attempts lastError } } }`;

async function closeRun(gw: TestGateway, runNumber: number, stoppedAt?: string): Promise<Buffer> {
  const content = smallMidasRun(runNumber, 4, 96);
  const name = `run${String(runNumber).padStart(5, '0')}.mid`;
  gw.writeBufferFile(name, content);
  const res = await gw.gql(`mutation($input: CloseRunInput!) { closeRun(input: $input) { id } }`, {
    input: { runNumber, stoppedAt, files: [{ path: name, md5: md5(content) }] },
  });
  expect(res.errors).toBeUndefined();
  return content;
}

async function tapeJob(gw: TestGateway, runNumber: number, state: string, timeoutMs = 20_000) {
  return readWhenDone(
    async () => {
      const res = await gw.gql(RUN, { n: runNumber });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      return res.data.run;
    },
    (run) => run?.jobs.find((j: { kind: string }) => j.kind === 'TAPE_COPY')?.state === state,
    `TAPE_COPY of run ${runNumber} to be ${state}`,
    timeoutMs,
  );
}

describe('tape stores', () => {
  let door: TapeDoor;
  beforeAll(async () => {
    door = await startTapeDoor({ token: 'good-token' });
  });
  afterAll(async () => door?.close());

  const tokenFile = path.join(tmp, 'token');
  const stores = () => {
    fs.writeFileSync(tokenFile, 'good-token\n');
    return [
      ['file', new FileTapeStore(path.join(tmp, 'filetape'), 5)],
      ['WebDAV', new WebDavTapeStore(door.url, new TokenFile(tokenFile))],
    ] as const;
  };

  it('put, stat, get and delete on both backends, creating directories as needed', async () => {
    for (const [name, store] of stores()) {
      const bytes = Buffer.from(`raw data on ${name} tape`);
      expect(await store.stat('LNGS/deep/run00001.mid'), name).toBeNull();
      await store.put('LNGS/deep/run00001.mid', Readable.from([bytes]), bytes.length);
      expect(await store.stat('LNGS/deep/run00001.mid'), name).toMatchObject({
        size: bytes.length,
      });
      expect(await adler32Of(await store.get('LNGS/deep/run00001.mid'))).toEqual({
        adler32: adler(bytes),
        size: bytes.length,
      });
      await store.delete('LNGS/deep/run00001.mid');
      await store.delete('LNGS/deep/run00001.mid'); // already gone: fine
      expect(await store.stat('LNGS/deep/run00001.mid'), name).toBeNull();
    }
  });

  it('refuses a bad token with a clear error, and reads the token file again when it changes', async () => {
    const [, [, dav]] = stores();
    fs.writeFileSync(tokenFile, 'expired-token');
    const error = await dav.stat('x').catch((e: Error) => e);
    expect(error).toBeInstanceOf(TapeAuthError);
    expect((error as Error).message).toMatch(
      /HTTP 401, the tape endpoint refused the token from .*token/,
    );
    fs.writeFileSync(tokenFile, 'good-token');
    expect(await dav.stat('x')).toBeNull();
  });

  it('reads adler32 from an RFC 3230 Digest header', () => {
    expect(adler32FromDigest('adler32=5554618f')).toBe('5554618f');
    expect(adler32FromDigest('md5=abc, ADLER32=1A2b')).toBe('00001a2b');
    expect(adler32FromDigest('md5=abc')).toBeNull();
    expect(adler32FromDigest(undefined)).toBeNull();
  });
});

describe('TAPE_COPY and TAPE_RECALL through the fault-injecting WebDAV stand-in', () => {
  let gw: TestGateway;
  let door: TapeDoor;
  const tokenFile = path.join(tmp, 'gateway-token');

  beforeAll(async () => {
    door = await startTapeDoor({ token: 'tape-token-1', digest: true });
    fs.writeFileSync(tokenFile, 'tape-token-1');
    gw = await startTestGateway({
      env: {
        TAPE_URL: `${door.url}cygno/`,
        TAPE_TOKEN_FILE: tokenFile,
        TAPE_TOKEN_RETRY_MS: '200',
        JOB_MAX_ATTEMPTS: '2',
        RETENTION_BUFFER: 'after-tape',
        RETENTION_CLOUD_DAYS: '1',
      },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await door?.close();
  });

  it('copies an ingested raw file to tape and verifies size and adler32 (the door’s Digest)', async () => {
    const content = await closeRun(gw, 301);
    const run = await tapeJob(gw, 301, 'SUCCEEDED');
    const [file] = run.files;
    expect(file.tapeCopies).toEqual([
      expect.objectContaining({
        state: 'ON_TAPE',
        attempts: 1,
        verifiedChecksum: `adler32:${adler(content)}`,
        url: `${door.url}cygno/LNGS/run00301.mid`,
        lastError: null,
      }),
    ]);
    expect(fs.readFileSync(path.join(door.dir, 'cygno/LNGS/run00301.mid')).equals(content)).toBe(
      true,
    );
  });

  it('never counts a corrupted tape copy: FAILED, removed, copied again', async () => {
    const before = door.puts;
    door.corruptNextPut();
    const content = await closeRun(gw, 302);
    const run = await tapeJob(gw, 302, 'SUCCEEDED');
    expect(door.puts - before).toBe(2);
    const copy = run.files[0].tapeCopies[0];
    expect(copy).toMatchObject({
      state: 'ON_TAPE',
      attempts: 2,
      verifiedChecksum: `adler32:${adler(content)}`,
    });
    expect(fs.readFileSync(path.join(door.dir, 'cygno/LNGS/run00302.mid')).equals(content)).toBe(
      true,
    );
  });

  it('retries while the endpoint is down, alarms after the last attempt, deletes nothing', async () => {
    await door.down();
    try {
      const content = await closeRun(gw, 303);
      const run = await tapeJob(gw, 303, 'FAILED');
      const [file] = run.files;
      expect(file).toMatchObject({ cloudState: 'AVAILABLE', localState: 'PRESENT', deletions: [] });
      expect(file.tapeCopies[0]).toMatchObject({ state: 'FAILED', attempts: 2 });
      expect(file.tapeCopies[0].lastError).toMatch(/ECONNREFUSED/);
      expect(fs.readFileSync(path.join(gw.bufferDir, 'run00303.mid')).equals(content)).toBe(true);
      const alarms = await gw.server.runtime.db.manager.query(
        `SELECT name, severity, message FROM alarms WHERE fingerprint = 'tape-copy:${file.id}'`,
      );
      expect(alarms).toEqual([
        expect.objectContaining({ name: 'Tape copy failing', severity: 'CRITICAL' }),
      ]);
      // Nothing may be freed while the only other copy is the cloud one.
      const plan = await gw.server.runtime.services.retention.plan();
      expect(plan.filter((c) => c.name === 'run00303.mid')).toEqual([]);
    } finally {
      await door.up();
    }
    const job = (
      await gw.gql(`{ jobs(filter: { runNumber: 303, kinds: [TAPE_COPY] }) { nodes { id } } }`)
    ).data.jobs.nodes[0];
    await gw.gql(`mutation($id: ID!) { retryJob(id: $id) { state } }`, { id: job.id });
    await tapeJob(gw, 303, 'SUCCEEDED');
  });

  it('on an expired token: a clear error, an alarm, and a retry once the token file changes', async () => {
    fs.writeFileSync(tokenFile, 'tape-token-expired');
    await closeRun(gw, 304);
    const waiting = await waitFor(async () => {
      const run = (await gw.gql(RUN, { n: 304 })).data.run;
      const job = run?.jobs.find((j: { kind: string }) => j.kind === 'TAPE_COPY');
      return job?.lastError?.includes('refused the token') ? job : null;
    }, 'the copy to be refused for its token');
    expect(waiting.state).not.toBe('FAILED'); // waits for a token, attempts are not used up
    const alarms = await gw.server.runtime.db.manager.query(
      `SELECT message FROM alarms WHERE fingerprint = 'tape-token'`,
    );
    expect(alarms[0].message).toMatch(/token refused: .*HTTP 401/);
    fs.writeFileSync(tokenFile, 'tape-token-1');
    await tapeJob(gw, 304, 'SUCCEEDED');
  });

  it('frees space only where verified replicas remain, recording why, and recalls from tape', async () => {
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const content = await closeRun(gw, 305, twoDaysAgo);
    await tapeJob(gw, 305, 'SUCCEEDED');
    const retention = gw.server.runtime.services.retention;
    const plan = (await retention.plan()).filter((c) => c.runNumber === 305);
    expect(plan.map((c) => c.location).sort()).toEqual(['BUFFER', 'CLOUD']);
    expect(plan.find((c) => c.location === 'CLOUD')!.reason).toMatch(
      /older than 1 days; tape copy verified .* \(adler32:[0-9a-f]{8}\)/,
    );
    const freed = await retention.apply('test');
    expect(freed.filter((c) => c.runNumber === 305)).toHaveLength(2);

    let file = (await gw.gql(RUN, { n: 305 })).data.run.files[0];
    expect(file).toMatchObject({ localState: 'DELETED', cloudState: 'DELETED' });
    expect(file.deletions.map((d: { location: string }) => d.location).sort()).toEqual([
      'BUFFER',
      'CLOUD',
    ]);
    expect(fs.existsSync(path.join(gw.bufferDir, 'run00305.mid'))).toBe(false);
    expect(await gw.server.runtime.store.stat('LNGS/run00305.mid')).toBeNull();
    expect(await retention.plan()).toEqual([]); // nothing more to free: tape is the last copy

    const recall = await gw.gql(`mutation($id: ID!) { requestRecall(fileId: $id) { state } }`, {
      id: file.id,
    });
    expect(recall.errors).toBeUndefined();
    await waitFor(async () => {
      file = (await gw.gql(RUN, { n: 305 })).data.run.files[0];
      return file.cloudState === 'AVAILABLE';
    }, 'the recall');
    const chunks: Buffer[] = [];
    for await (const chunk of await gw.server.runtime.store.get('LNGS/run00305.mid'))
      chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    expect(file.tapeCopies[0].state).toBe('ON_TAPE');
  });

  it('summarises storage per location and state, the backlog and the tape lag', async () => {
    const summary = (
      await gw.gql(`{ storageSummary { locations { location state files bytes } backlog { kind runs failed }
        oldestRunNotOnTape { runNumber } generatedAt } }`)
    ).data.storageSummary;
    const tape = summary.locations.find(
      (l: { location: string; state: string }) => l.location === 'TAPE' && l.state === 'ON_TAPE',
    );
    expect(tape.files).toBe(5);
    expect(summary.backlog.map((b: { kind: string }) => b.kind)).toEqual(
      expect.arrayContaining(['INGEST', 'RECONSTRUCT', 'TAPE_COPY', 'TAPE_RECALL']),
    );
    expect(summary.oldestRunNotOnTape).toBeNull();
  });
});

describe('cygno-gateway retention (command)', () => {
  it('lists what it would free and why with --dry-run, frees nothing, and says when it is off', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const CLI = path.join(__dirname, '..', '..', 'bin', 'cygno-gateway.js');
    const gw = await startTestGateway({ env: { RETENTION_BUFFER: 'after-tape' } });
    try {
      await closeRun(gw, 401);
      await tapeJob(gw, 401, 'SUCCEEDED');
      const env = {
        PATH: process.env.PATH,
        LOG_LEVEL: 'silent',
        DATABASE_URL: gw.config.databaseUrl,
        OBJECT_STORE_URL: gw.config.objectStoreUrl,
        TAPE_URL: gw.config.tapeUrl,
        DAQ_BUFFER_DIR: gw.bufferDir,
        REDIS_URL: gw.config.redisUrl ?? '',
        REDIS_PREFIX: gw.config.redisPrefix,
      };
      const dry = await promisify(execFile)(process.execPath, [CLI, 'retention', '--dry-run'], {
        env: { ...env, RETENTION_BUFFER: 'after-tape' },
      });
      expect(dry.stdout).toMatch(
        /would free BUFFER run00401\.mid \(run 401 .*\): buffer freed: cloud copy verified at ingestion \(md5 [0-9a-f]{32}, adler32 [0-9a-f]{8}\); tape copy verified/,
      );
      expect(dry.stdout).toMatch(/1 copy would be freed/);
      expect(fs.existsSync(path.join(gw.bufferDir, 'run00401.mid'))).toBe(true);
      const off = await promisify(execFile)(process.execPath, [CLI, 'retention'], { env });
      expect(off.stdout).toMatch(/retention is off/);
    } finally {
      await gw.close();
    }
  });
});
