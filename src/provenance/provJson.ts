import type { ProvenanceFile, Reconstruction } from '../entities/Reconstruction';
import { canonicalJson } from './parameterHash';

type Record_ = Record<string, unknown>;

/** A W3C PROV-JSON document (https://www.w3.org/submissions/prov-json/). */
export interface ProvDocument {
  prefix: Record<string, string>;
  entity: Record<string, Record_>;
  activity: Record<string, Record_>;
  agent: Record<string, Record_>;
  used: Record<string, Record_>;
  wasGeneratedBy: Record<string, Record_>;
  wasAssociatedWith: Record<string, Record_>;
  wasDerivedFrom: Record<string, Record_>;
}

/** A file as an entity: named by its content (MD5) where known, so one copy is one entity. */
function fileId(file: ProvenanceFile): string {
  return file.md5 ? `cygno:md5-${file.md5}` : `cygno:file-${file.fileId ?? file.name}`;
}

/**
 * One run's lineage: each reconstruction an activity that used the raw files, the pedestal map
 * and its parameter set, was run by the gateway's code (a software agent named with its version
 * and commit) on a host, and generated its output files, which derive from every input.
 */
export function provJson(
  runNumber: number,
  reconstructions: readonly Reconstruction[],
): ProvDocument {
  const doc: ProvDocument = {
    prefix: { cygno: 'urn:cygno:', prov: 'http://www.w3.org/ns/prov#' },
    entity: {},
    activity: {},
    agent: {},
    used: {},
    wasGeneratedBy: {},
    wasAssociatedWith: {},
    wasDerivedFrom: {},
  };
  let n = 0;
  const relation = (kind: keyof ProvDocument, value: Record_) => {
    (doc[kind] as Record<string, Record_>)[`_:${kind}${++n}`] = value;
  };
  const file = (f: ProvenanceFile) => {
    const id = fileId(f);
    doc.entity[id] = {
      'prov:label': f.name,
      'cygno:kind': f.kind,
      ...(f.md5 ? { 'cygno:md5': f.md5 } : {}),
      ...(f.fileId != null ? { 'cygno:fileId': f.fileId } : {}),
      'cygno:run': runNumber,
    };
    return id;
  };
  for (const r of [...reconstructions].sort((a, b) => a.id - b.id)) {
    const activity = `cygno:reconstruction-${r.id}`;
    doc.activity[activity] = {
      'prov:type': `cygno:${r.kind}`,
      'prov:startTime': r.startedAt.toISOString(),
      'prov:endTime': r.finishedAt.toISOString(),
      'cygno:run': r.runNumber,
      'cygno:version': r.version,
      'cygno:executor': r.executor,
    };
    const parameters = `cygno:parameters-${r.parametersHash}`;
    doc.entity[parameters] = {
      'prov:type': 'cygno:ParameterSet',
      'cygno:sha256': r.parametersHash,
      'cygno:json': canonicalJson(r.parameters),
    };
    const software = `cygno:cygno-gateway-${r.codeVersion}${r.codeCommit ? `-${r.codeCommit}` : ''}`;
    doc.agent[software] = {
      'prov:type': 'prov:SoftwareAgent',
      'cygno:version': r.codeVersion,
      ...(r.codeCommit ? { 'cygno:commit': r.codeCommit } : {}),
    };
    const host = `cygno:host-${String(r.executor.host ?? 'unknown')}`;
    doc.agent[host] = { 'prov:type': 'cygno:Host' };
    relation('wasAssociatedWith', { 'prov:activity': activity, 'prov:agent': software });
    relation('wasAssociatedWith', { 'prov:activity': activity, 'prov:agent': host });
    const inputs = r.inputs.map(file);
    if (r.pedestalRunNumber != null) {
      const map = r.pedestalMd5
        ? `cygno:md5-${r.pedestalMd5}`
        : `cygno:pedestal-${r.pedestalRunNumber}`;
      doc.entity[map] = {
        'prov:label': `pedestal map of run ${r.pedestalRunNumber}`,
        'cygno:kind': 'PEDESTAL_MAP',
        'cygno:run': r.pedestalRunNumber,
        ...(r.pedestalMd5 ? { 'cygno:md5': r.pedestalMd5 } : {}),
      };
      inputs.push(map);
    }
    for (const input of [...inputs, parameters])
      relation('used', { 'prov:activity': activity, 'prov:entity': input });
    for (const output of r.outputs.map(file)) {
      relation('wasGeneratedBy', {
        'prov:entity': output,
        'prov:activity': activity,
        'prov:time': r.finishedAt.toISOString(),
      });
      for (const input of inputs)
        relation('wasDerivedFrom', {
          'prov:generatedEntity': output,
          'prov:usedEntity': input,
          'prov:activity': activity,
        });
    }
  }
  return doc;
}
