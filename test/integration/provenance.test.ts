import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulateDaq } from '../../src/cli/simulate';
import { canonicalJson } from '../../src/provenance/parameterHash';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { waitFor } from '../support/wait';

// What made every reconstruction: parameters and their hash, code version and commit, the
// pedestal and its MD5, the raw files read and the files written (with MD5s), executor and
// times; the run's lineage as PROV-JSON; and a second reconstruction of the same bytes with
// the same parameters and code giving the same cluster table, bit for bit.

const ROOT = path.join(__dirname, '..', '..');
let gw: TestGateway;

const RECONSTRUCTIONS = `query($n: Int!) { run(runNumber: $n) {
  files { id kind name md5 producedBy { id } }
  reconstructions { id runNumber kind version parameters parametersHash codeVersion codeCommit
    pedestalRunNumber pedestalMd5 inputs { fileId name kind md5 } outputs { fileId name kind md5 }
    executor startedAt finishedAt } } }`;

async function recoDone(runNumber: number, count: number) {
  await waitFor(
    async () => {
      const res = await gw.gql(RECONSTRUCTIONS, { n: runNumber });
      return res.data?.run?.reconstructions.length === count;
    },
    `run ${runNumber} reconstructed ${count} time(s)`,
    90_000,
  );
  return (await gw.gql(RECONSTRUCTIONS, { n: runNumber })).data.run;
}

/** The run's cluster table as the export gives it (every column but the ids). */
async function clusterTable(runNumber: number): Promise<Buffer> {
  const columns =
    'serial,recoVersion,integral,nhits,size,length,width,theta,xMean,yMean,xMin,xMax,yMin,yMax,rms,longitudinalRms,transverseRms,energy';
  const res = await fetch(
    `${gw.url}/export/clusters.arrow?runNumberFrom=${runNumber}&runNumberTo=${runNumber}&columns=${columns}`,
  );
  const table = tableFromIPC(Buffer.from(await res.arrayBuffer()));
  // The column buffers, byte for byte.
  return Buffer.concat(
    table.schema.fields.map((f) => {
      const values = table.getChild(f.name)!.toArray() as ArrayLike<number> & ArrayBufferView;
      return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    }),
  );
}

beforeAll(async () => {
  gw = await startTestGateway();
  await simulateDaq(gw.config, ['--runs', '2', '--events', '4', '--size', '256', '--gzip'], {
    GATEWAY_URL: gw.url,
  });
}, 120_000);
afterAll(async () => gw?.close());

describe('provenance', () => {
  it('records what made each reconstruction, and answers for clusters and files', async () => {
    const run = await recoDone(2, 1);
    const [record] = run.reconstructions;
    const raw = run.files.filter((f: { kind: string }) => f.kind === 'RAW');
    const reco = run.files.find((f: { kind: string }) => f.kind === 'RECO');
    const reduced = run.files.find((f: { kind: string }) => f.kind === 'REDUCED');
    expect(record).toMatchObject({ runNumber: 2, kind: 'RECONSTRUCT', version: 1 });
    expect(record.parametersHash).toBe(
      createHash('sha256').update(canonicalJson(record.parameters)).digest('hex'),
    );
    expect(record.parameters).toMatchObject({ version: 1, cameraBank: 'CAM0' });
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(record.codeVersion).toBe(pkg.version);
    if (fs.existsSync(path.join(ROOT, '.git')))
      expect(record.codeCommit).toBe(
        execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).toString().trim(),
      );
    // The pedestal: run 1's map, by the MD5 of its file.
    const pedestal = (await gw.gql(RECONSTRUCTIONS, { n: 1 })).data.run;
    const map = pedestal.files.find((f: { kind: string }) => f.kind === 'PEDESTAL_MAP');
    expect(record.pedestalRunNumber).toBe(1);
    expect(record.pedestalMd5).toBe(map.md5);
    expect(pedestal.reconstructions[0]).toMatchObject({
      kind: 'PEDESTAL',
      pedestalRunNumber: null,
    });
    expect(pedestal.reconstructions[0].outputs).toEqual([
      { fileId: Number(map.id), name: map.name, kind: 'PEDESTAL_MAP', md5: map.md5 },
    ]);
    expect(map.producedBy).toEqual({ id: pedestal.reconstructions[0].id });
    // Inputs and outputs, with their MD5s; the executor; the times.
    expect(record.inputs).toEqual(
      raw.map((f: { id: string; name: string; md5: string }) => ({
        fileId: Number(f.id),
        name: f.name,
        kind: 'RAW',
        md5: f.md5,
      })),
    );
    // The cluster table, and the run's reduced file (REDUCTION is on by default).
    expect(record.outputs).toEqual([
      { fileId: Number(reco.id), name: reco.name, kind: 'RECO', md5: reco.md5 },
      { fileId: Number(reduced.id), name: reduced.name, kind: 'REDUCED', md5: reduced.md5 },
    ]);
    expect(reduced.producedBy).toEqual({ id: record.id });
    expect(record.executor).toMatchObject({
      host: expect.any(String),
      threads: expect.any(Number),
    });
    expect(new Date(record.finishedAt).getTime()).toBeGreaterThanOrEqual(
      new Date(record.startedAt).getTime(),
    );
    expect(reco.producedBy).toEqual({ id: record.id });
    expect(raw[0].producedBy).toBeNull();
    const clusters = await gw.gql(
      `{ clusters(filter: { runNumberFrom: 2, runNumberTo: 2 }, first: 3) { nodes { reconstruction { id } } } }`,
    );
    expect(clusters.data.clusters.nodes.length).toBeGreaterThan(0);
    for (const node of clusters.data.clusters.nodes)
      expect(node.reconstruction).toEqual({ id: record.id });
  }, 120_000);

  it('exports the lineage as PROV-JSON', async () => {
    const run = await recoDone(2, 1);
    const record = run.reconstructions[0];
    const res = await fetch(`${gw.url}/provenance/run/2`);
    expect(res.status).toBe(200);
    const doc = await res.json();
    expect(doc.prefix.prov).toBe('http://www.w3.org/ns/prov#');
    const activity = `cygno:reconstruction-${record.id}`;
    expect(doc.activity[activity]).toMatchObject({
      'prov:type': 'cygno:RECONSTRUCT',
      'cygno:run': 2,
    });
    const rawEntity = `cygno:md5-${record.inputs[0].md5}`;
    const recoEntity = `cygno:md5-${record.outputs[0].md5}`;
    const mapEntity = `cygno:md5-${record.pedestalMd5}`;
    expect(doc.entity[rawEntity]).toMatchObject({ 'cygno:kind': 'RAW' });
    const relations = (kind: string) => Object.values(doc[kind]) as Array<Record<string, string>>;
    expect(relations('used')).toEqual(
      expect.arrayContaining([
        { 'prov:activity': activity, 'prov:entity': rawEntity },
        { 'prov:activity': activity, 'prov:entity': mapEntity },
        { 'prov:activity': activity, 'prov:entity': `cygno:parameters-${record.parametersHash}` },
      ]),
    );
    expect(relations('wasGeneratedBy')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ 'prov:entity': recoEntity, 'prov:activity': activity }),
      ]),
    );
    expect(relations('wasDerivedFrom')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          'prov:generatedEntity': recoEntity,
          'prov:usedEntity': rawEntity,
        }),
      ]),
    );
    const software = relations('wasAssociatedWith').map((r) => r['prov:agent']);
    expect(software.some((a) => doc.agent[a]['prov:type'] === 'prov:SoftwareAgent')).toBe(true);
    expect((await fetch(`${gw.url}/provenance/run/999`)).status).toBe(404);
    expect((await fetch(`${gw.url}/provenance/run/abc`)).status).toBe(400);
  }, 120_000);

  it('reconstructs the same bytes with the same parameters and code to the same cluster table, bit for bit', async () => {
    const first = await recoDone(2, 1);
    const before = await clusterTable(2);
    expect(before.length).toBeGreaterThan(0);
    const again = await gw.gql(`mutation { reconstructRun(runNumber: 2, force: true) { id } }`);
    expect(again.errors).toBeUndefined();
    const second = await recoDone(2, 2);
    const [newer, older] = second.reconstructions;
    expect(older.id).toBe(first.reconstructions[0].id);
    expect(newer.parametersHash).toBe(older.parametersHash);
    expect(newer.inputs).toEqual(older.inputs);
    // Its Arrow file is the same bytes, and so is the table in the database.
    expect(newer.outputs[0].md5).toBe(older.outputs[0].md5);
    expect((await clusterTable(2)).equals(before)).toBe(true);
  }, 120_000);
});
