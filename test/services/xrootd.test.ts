import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TapeAuthError, TokenFile, WebDavTapeStore } from '../../src/tape';
import { adler32Of } from '../../src/tape/checksumStream';
import { adler32, md5 } from '../support/bytes';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun, writeLargeMidasRun } from '../support/midasFixtures';
import { readWhenDone, waitFor } from '../support/wait';
import { startXrootd, type XrootdDoor } from '../support/xrootd';

// Runs when TEST_XROOTD is set (.ci/run installs Debian's xrootd-server and
// xrootd-scitokens-plugins and sets it). Every success path of the tape copy runs here against
// a real HEP storage door with WLCG tokens; the `webdav-server` stand-in of tape.test.ts stays
// only for what a real door cannot be made to do (corrupting a PUT in flight).

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-xrootd-test-'));
let door: XrootdDoor;
beforeAll(async () => {
  door = await startXrootd();
});
afterAll(async () => {
  await door?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const onDoor = (relative: string) => path.join(door.dataDir, relative);
const EXPERIMENT_SCOPES = 'storage.read:/cygno storage.create:/cygno storage.modify:/cygno';

describe('WebDavTapeStore against XRootD', () => {
  const tokenFile = path.join(tmp, 'store-token');
  const store = () => new WebDavTapeStore(`${door.url}cygno/`, new TokenFile(tokenFile));

  it('puts a file whole, byte for byte, and reads the door’s adler32 (Want-Digest)', async () => {
    fs.writeFileSync(tokenFile, await door.token({ scope: EXPERIMENT_SCOPES }));
    // Several MB in uneven chunks: a PUT whose Content-Length the door did not read lands empty.
    const bytes = Buffer.alloc(7_654_321);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    const chunks = [bytes.subarray(0, 1000), bytes.subarray(1000, 3_000_000), bytes.subarray(3e6)];
    const tape = store();
    expect(await tape.stat('LNGS/deep/run00001.mid')).toBeNull();
    await tape.put('LNGS/deep/run00001.mid', Readable.from(chunks), bytes.length);

    expect(fs.readFileSync(onDoor('cygno/LNGS/deep/run00001.mid')).equals(bytes)).toBe(true);
    expect(await tape.stat('LNGS/deep/run00001.mid')).toEqual({
      size: bytes.length,
      adler32: adler32(bytes),
    });
    expect(await adler32Of(await tape.get('LNGS/deep/run00001.mid'))).toEqual({
      adler32: adler32(bytes),
      size: bytes.length,
    });
    await tape.delete('LNGS/deep/run00001.mid');
    await tape.delete('LNGS/deep/run00001.mid'); // already gone: fine
    expect(await tape.stat('LNGS/deep/run00001.mid')).toBeNull();
  });

  it('is refused (403) without the create scope, or outside the experiment’s path', async () => {
    const body = () => Readable.from([Buffer.from('x')]);
    fs.writeFileSync(tokenFile, await door.token({ scope: 'storage.read:/cygno' }));
    const readOnly = await store()
      .put('LNGS/refused.mid', body(), 1)
      .catch((e: Error) => e);
    expect(readOnly).toBeInstanceOf(TapeAuthError);
    expect((readOnly as Error).message).toMatch(
      /MKCOL http:\/\/127.0.0.1:\d+\/cygno\/: HTTP 403, the tape endpoint refused the token from .*store-token/,
    );
    expect(fs.existsSync(onDoor('cygno/LNGS/refused.mid'))).toBe(false);

    fs.writeFileSync(tokenFile, await door.token({ scope: 'storage.create:/other' }));
    const elsewhere = await store()
      .put('LNGS/refused.mid', body(), 1)
      .catch((e: Error) => e);
    expect(elsewhere).toBeInstanceOf(TapeAuthError);
  });

  it('refuses an expired token, and uses the new one as soon as the token file changes', async () => {
    fs.writeFileSync(tokenFile, await door.token({ expiresInSeconds: -120 }));
    const tape = store();
    expect(await tape.stat('LNGS/x.mid').catch((e: Error) => e)).toBeInstanceOf(TapeAuthError);
    fs.writeFileSync(tokenFile, await door.token({ scope: EXPERIMENT_SCOPES }));
    expect(await tape.stat('LNGS/x.mid')).toBeNull();
  });
});

const FILE = `files { id name cloudState localState sizeBytes md5 adler32
  tapeCopies { state attempts verifiedChecksum lastError url } }`;
const RUN = `query($n: Int!) { run(runNumber: $n) { ${FILE} jobs { id kind state attempts lastError } } }`;

describe('TAPE_COPY and TAPE_RECALL through XRootD', () => {
  let gw: TestGateway;
  const tokenFile = path.join(tmp, 'gateway-token');

  beforeAll(async () => {
    fs.writeFileSync(tokenFile, await door.token({ scope: EXPERIMENT_SCOPES }));
    gw = await startTestGateway({
      env: {
        TAPE_URL: `${door.url}cygno/`,
        TAPE_TOKEN_FILE: tokenFile,
        TAPE_TOKEN_RETRY_MS: '200',
        JOB_MAX_ATTEMPTS: '3',
        RETENTION_CLOUD_DAYS: '1',
      },
    });
  });
  afterAll(async () => gw?.close());

  const readRun = async (runNumber: number) => {
    const res = await gw.gql(RUN, { n: runNumber });
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return res.data.run;
  };
  const job = (run: { jobs: { kind: string }[] }, kind: string) =>
    run?.jobs.find((j) => j.kind === kind) as
      { id: string; state: string; attempts: number; lastError: string | null } | undefined;
  const jobState = (runNumber: number, kind: string, state: string, timeoutMs = 30_000) =>
    readWhenDone(
      () => readRun(runNumber),
      (run) => job(run, kind)?.state === state,
      `${kind} of run ${runNumber} to be ${state}`,
      timeoutMs,
    );

  async function closeRun(runNumber: number, stoppedAt?: string): Promise<Buffer> {
    const content = smallMidasRun(runNumber, 4, 96);
    const name = `run${String(runNumber).padStart(5, '0')}.mid`;
    gw.writeBufferFile(name, content);
    const res = await gw.gql(
      `mutation($input: CloseRunInput!) { closeRun(input: $input) { id } }`,
      { input: { runNumber, stoppedAt, files: [{ path: name, md5: md5(content) }] } },
    );
    expect(res.errors).toBeUndefined();
    return content;
  }

  it('copies an ingested raw file, verified by the door’s adler32, and it lands whole', async () => {
    const content = await closeRun(501);
    const run = await jobState(501, 'TAPE_COPY', 'SUCCEEDED');
    expect(run.files[0].tapeCopies).toEqual([
      expect.objectContaining({
        state: 'ON_TAPE',
        attempts: 1,
        verifiedChecksum: `adler32:${adler32(content)}`,
        url: `${door.url}cygno/LNGS/run00501.mid`,
        lastError: null,
      }),
    ]);
    expect(fs.readFileSync(onDoor('cygno/LNGS/run00501.mid')).equals(content)).toBe(true);
    const copyJob = await gw.server.runtime.queue.get(Number(job(run, 'TAPE_COPY')!.id));
    expect(copyJob?.result).toMatchObject({ checksumFrom: 'endpoint' });
  });

  it('on an expired token: a clear error, an alarm, no attempt used up, and a copy once it is renewed', async () => {
    fs.writeFileSync(tokenFile, await door.token({ expiresInSeconds: -120 }));
    await closeRun(502);
    const waiting = await waitFor(async () => {
      const copy = job(await readRun(502), 'TAPE_COPY');
      return copy?.lastError?.includes('refused the token') ? copy : null;
    }, 'the copy to be refused for its token');
    expect(waiting.state).not.toBe('FAILED');
    expect(waiting.lastError).toMatch(/HTTP 403/);
    const [alarm] = await gw.server.runtime.db.manager.query(
      `SELECT message, state FROM alarms WHERE fingerprint = 'tape-token'`,
    );
    expect(alarm.message).toMatch(/token refused: .*HTTP 403/);
    fs.writeFileSync(tokenFile, await door.token({ scope: EXPERIMENT_SCOPES }));
    await jobState(502, 'TAPE_COPY', 'SUCCEEDED');
  });

  it('retries while the door is down and copies once it is back; deletes nothing meanwhile', async () => {
    await door.stop();
    let content: Buffer;
    try {
      content = await closeRun(503);
      const failing = await waitFor(async () => {
        const copy = job(await readRun(503), 'TAPE_COPY');
        return copy?.lastError?.match(/ECONNREFUSED/) ? copy : null;
      }, 'a copy attempt to fail on the closed door');
      expect(failing.state).not.toBe('SUCCEEDED');
      const plan = await gw.server.runtime.services.retention.plan();
      expect(plan.filter((c) => c.runNumber === 503)).toEqual([]);
    } finally {
      await door.start();
    }
    const run = await jobState(503, 'TAPE_COPY', 'SUCCEEDED');
    expect(run.files[0].tapeCopies[0].state).toBe('ON_TAPE');
    expect(fs.readFileSync(onDoor('cygno/LNGS/run00503.mid')).equals(content)).toBe(true);
  });

  it('never counts a copy cut off mid-PUT: the door killed and started again, the copy redone whole', async () => {
    const name = 'run00504.mid';
    const size = writeLargeMidasRun(path.join(gw.bufferDir, name), 504, 30); // ~320 MB
    const closed = await gw.gql(
      `mutation { closeRun(input: { runNumber: 504, files: [{ path: "${name}", sizeBytes: ${size} }] }) { id } }`,
    );
    expect(closed.errors).toBeUndefined();
    const partial = onDoor(`cygno/LNGS/${name}`);
    await waitFor(
      () => fs.existsSync(partial) && fs.statSync(partial).size > 0,
      'the PUT to be under way',
      120_000,
      5,
    );
    await door.stop();
    const cutAt = fs.statSync(partial).size;
    expect(cutAt).toBeLessThan(size);
    // While the door is down, the copy is anything but ON_TAPE.
    const refused = await waitFor(async () => {
      const copy = job(await readRun(504), 'TAPE_COPY');
      return copy?.lastError ? copy : null;
    }, 'the cut-off copy to be reported');
    expect(refused.state).not.toBe('SUCCEEDED');
    expect((await readRun(504)).files[0].tapeCopies[0].state).not.toBe('ON_TAPE');
    await door.start();

    const run = await jobState(504, 'TAPE_COPY', 'SUCCEEDED', 120_000);
    const [file] = run.files;
    expect(file.tapeCopies[0]).toMatchObject({
      state: 'ON_TAPE',
      verifiedChecksum: `adler32:${file.adler32}`,
    });
    expect(file.tapeCopies[0].attempts).toBeGreaterThanOrEqual(2);
    expect(await adler32Of(fs.createReadStream(partial))).toEqual({
      adler32: file.adler32,
      size,
    });
  }, 240_000);

  it('a tape file altered behind the door: the recall catches it, marks it BAD, alarms, and copies again', async () => {
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000).toISOString();
    const content = await closeRun(505, twoDaysAgo);
    await jobState(505, 'TAPE_COPY', 'SUCCEEDED');
    // The cloud copy goes (older than a day, on tape); the buffer keeps its copy.
    const freed = await gw.server.runtime.services.retention.apply('test');
    expect(freed.filter((c) => c.runNumber === 505).map((c) => c.location)).toEqual(['CLOUD']);

    const onTape = onDoor('cygno/LNGS/run00505.mid');
    const altered = Buffer.from(content);
    altered[altered.length >> 1] ^= 0x01; // one bit, same size
    fs.writeFileSync(onTape, altered);

    let file = (await readRun(505)).files[0];
    const recall = await gw.gql(`mutation($id: ID!) { requestRecall(fileId: $id) { state } }`, {
      id: file.id,
    });
    expect(recall.errors).toBeUndefined();
    const failed = await jobState(505, 'TAPE_RECALL', 'FAILED');
    expect(job(failed, 'TAPE_RECALL')!.lastError).toMatch(
      /adler32 [0-9a-f]{8}, [0-9a-f]{8} expected/,
    );
    expect(job(failed, 'TAPE_RECALL')!.attempts).toBe(1); // a bad copy is not read again
    const [alarm] = await gw.server.runtime.db.manager.query(
      `SELECT severity, message FROM alarms WHERE fingerprint = 'tape-copy-bad:${file.id}'`,
    );
    expect(alarm).toMatchObject({ severity: 'CRITICAL' });
    expect(alarm.message).toMatch(
      /run00505\.mid: the tape copy is corrupt .*copied again from the buffer/,
    );

    // Copied again from the buffer, verified; then the recall succeeds.
    file = await waitFor(async () => {
      const f = (await readRun(505)).files[0];
      return f.tapeCopies[0].state === 'ON_TAPE' && f.tapeCopies[0].attempts >= 2 ? f : null;
    }, 'the tape copy to be redone');
    expect(fs.readFileSync(onTape).equals(content)).toBe(true);
    const again = await gw.gql(`mutation($id: ID!) { requestRecall(fileId: $id) { state } }`, {
      id: file.id,
    });
    expect(again.errors).toBeUndefined();
    await waitFor(
      async () => (await readRun(505)).files[0].cloudState === 'AVAILABLE',
      'the second recall',
    );
  });
});
