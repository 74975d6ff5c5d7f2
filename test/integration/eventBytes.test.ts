import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seekIndexKeyOf } from '../../src/services/IngestService';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { readWhenDone } from '../support/wait';

// One event out of a stored raw file, without the whole file: Event.downloadUrl. A gzip file's
// seek index is built during ingestion and stored beside the object.

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => gw?.close());

const EVENTS = `query($n: Int!) { events(runNumber: $n, first: 500) { nodes { id serial fileOffset sizeBytes downloadUrl } } }`;

async function ingest(runNumber: number, name: string, content: Buffer) {
  gw.writeBufferFile(name, content);
  const closed = await gw.gql(
    `mutation { closeRun(input: { runNumber: ${runNumber}, files: [{ path: "${name}" }] }) { id } }`,
  );
  expect(closed.errors).toBeUndefined();
  await readWhenDone(
    async () => (await gw.gql(`{ run(runNumber: ${runNumber}) { jobs { kind state } } }`)).data.run,
    (run) =>
      run.jobs.some(
        (j: { kind: string; state: string }) => j.kind === 'INGEST' && j.state === 'SUCCEEDED',
      ),
    `run ${runNumber} ingested`,
    30_000,
  );
  const res = await gw.gql(EVENTS, { n: runNumber });
  return res.data.events.nodes as Array<{
    id: string;
    serial: number;
    fileOffset: number;
    sizeBytes: number;
    downloadUrl: string;
  }>;
}

describe('Event.downloadUrl', () => {
  // 40 camera images of 512×512: ~21 MB plain, several seek points 4 MiB apart.
  const plain = smallMidasRun(901, 40, 512);

  it('serves a gzip run’s events from the seek index stored with it, byte for byte', async () => {
    const events = await ingest(901, 'run00901.mid.gz', zlib.gzipSync(plain));
    expect(events).toHaveLength(40);
    const index = await gw.server.runtime.store.stat(seekIndexKeyOf('LNGS/run00901.mid.gz'));
    expect(index?.size).toBeGreaterThan(0);

    // Every read of the raw object below starts near its event, never at the file's start.
    const store = gw.server.runtime.store;
    const starts: number[] = [];
    const get = store.get.bind(store);
    store.get = (key, range) => {
      // (Reads of the whole object are the reconstruction's, running meanwhile.)
      if (key === 'LNGS/run00901.mid.gz' && range && range.end === undefined)
        starts.push(range.start);
      return get(key, range);
    };
    try {
      for (const event of [events[0], events[17], events[39]]) {
        const res = await fetch(event.downloadUrl);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-cygno-event-read')).toBe('seek-index');
        const bytes = Buffer.from(await res.arrayBuffer());
        expect(
          bytes.equals(plain.subarray(event.fileOffset, event.fileOffset + event.sizeBytes)),
        ).toBe(true);
      }
    } finally {
      store.get = get;
    }
    expect(starts).toHaveLength(3);
    expect(starts[0]).toBe(10); // the first seek point: right after the 10-byte gzip header
    expect(starts[2]).toBeGreaterThan(zlib.gzipSync(plain).length / 2);
  });

  it('serves a gzip run without a seek index by inflating from its start, and says so', async () => {
    const content = smallMidasRun(903, 6, 128);
    const events = await ingest(903, 'run00903.mid.gz', zlib.gzipSync(content));
    await gw.server.runtime.store.delete(seekIndexKeyOf('LNGS/run00903.mid.gz'));
    const res = await fetch(events[4].downloadUrl);
    expect(res.headers.get('x-cygno-event-read')).toBe('from-start');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(
      bytes.equals(
        content.subarray(events[4].fileOffset, events[4].fileOffset + events[4].sizeBytes),
      ),
    ).toBe(true);
  });

  it('serves a plain run’s events as a byte range', async () => {
    const content = smallMidasRun(902, 5, 128);
    const events = await ingest(902, 'run00902.mid', content);
    const res = await fetch(events[3].downloadUrl);
    expect(res.headers.get('x-cygno-event-read')).toBe('range');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(
      bytes.equals(
        content.subarray(events[3].fileOffset, events[3].fileOffset + events[3].sizeBytes),
      ),
    ).toBe(true);
  });

  it('refuses a tampered link, and says when the file has no cloud copy', async () => {
    const [event] = (await gw.gql(EVENTS, { n: 902 })).data.events.nodes;
    // One character of the signature changed (to another one: a signature may start with A).
    const tampered = event.downloadUrl.replace(
      /signature=(.)/,
      (_: string, first: string) => `signature=${first === 'A' ? 'B' : 'A'}`,
    );
    expect((await fetch(tampered)).status).toBe(403);
    await gw.server.runtime.db.manager.query(
      `UPDATE data_files SET cloudState = 'DELETED' WHERE name = 'run00902.mid'`,
    );
    const gone = await fetch(event.downloadUrl);
    expect(gone.status).toBe(409);
    expect((await gone.json()).error).toMatch(
      /run00902\.mid has no cloud copy now \(recall it from tape first\)/,
    );
  });
});
