import os from 'node:os';
import type { EntityManager } from 'typeorm';
import type { JsonObject } from '../entities/columns';
import type { DataFile } from '../entities/DataFile';
import type { Job } from '../entities/Job';
import { Reconstruction, type ProvenanceFile } from '../entities/Reconstruction';
import type { Run } from '../entities/Run';
import { codeVersion } from './codeVersion';
import { parameterHash } from './parameterHash';

/** What a reconstruction job knows of its provenance before its output is recorded. */
export interface ProvenanceDraft {
  kind: string;
  version: number;
  parameters: JsonObject;
  pedestal: { runNumber: number; md5: string | null } | null;
  inputs: ProvenanceFile[];
  executor: JsonObject;
  startedAt: Date;
}

export function provenanceFile(
  file: Pick<DataFile, 'id' | 'name' | 'kind' | 'md5'>,
): ProvenanceFile {
  return { fileId: file.id, name: file.name, kind: file.kind, md5: file.md5 };
}

/** Where a job runs: this host and process, its threads, the job and its attempt. */
export function executorOf(job: Job, threads: number): JsonObject {
  return {
    host: os.hostname(),
    pid: process.pid,
    node: process.version,
    threads,
    jobId: job.id,
    attempt: job.attempts,
    worker: job.leaseOwner,
  };
}

/** Records a finished reconstruction, in the transaction that settles its job. */
export async function recordReconstruction(
  manager: EntityManager,
  run: Run,
  draft: ProvenanceDraft,
  outputs: ProvenanceFile[],
): Promise<void> {
  const code = codeVersion();
  await manager.insert(Reconstruction, {
    runId: run.id,
    runNumber: run.runNumber,
    kind: draft.kind,
    version: draft.version,
    parameters: draft.parameters,
    parametersHash: parameterHash(draft.parameters),
    codeVersion: code.version,
    codeCommit: code.commit,
    pedestalRunNumber: draft.pedestal?.runNumber ?? null,
    pedestalMd5: draft.pedestal?.md5 ?? null,
    inputs: draft.inputs,
    outputs,
    executor: draft.executor,
    startedAt: draft.startedAt,
    finishedAt: new Date(),
  });
}
