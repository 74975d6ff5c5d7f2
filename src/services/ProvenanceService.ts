import { In } from 'typeorm';
import type { Database } from '../db/Database';
import type { DataFile } from '../entities/DataFile';
import { Reconstruction } from '../entities/Reconstruction';
import { Run } from '../entities/Run';
import { NotFoundError } from '../errors';
import { provJson, type ProvDocument } from '../provenance/provJson';
import { JobKind } from '../schema/enums';

/** The provenance records of reconstructions: per run, per cluster, per file, and as PROV. */
export class ProvenanceService {
  constructor(private readonly db: Database) {}

  /** Every reconstruction of a run, newest first. */
  ofRun(runId: number): Promise<Reconstruction[]> {
    return this.ofRuns([runId]);
  }

  /** Every reconstruction of the runs, newest first. */
  ofRuns(runIds: readonly number[]): Promise<Reconstruction[]> {
    if (runIds.length === 0) return Promise.resolve([]);
    return this.db.manager.find(Reconstruction, {
      where: { runId: In([...runIds]) },
      order: { id: 'DESC' },
    });
  }

  /** One run's lineage as a W3C PROV-JSON document. */
  async runLineage(runNumber: number): Promise<ProvDocument> {
    const run = await this.db.manager.findOneBy(Run, { runNumber });
    if (!run) throw new NotFoundError('run', runNumber);
    return provJson(run.runNumber, await this.ofRun(run.id));
  }
}

/** The record that wrote a run's clusters of one version: the newest of the run's records. */
export function clustersRecord(
  records: readonly Reconstruction[],
  version: number,
): Reconstruction | null {
  return records.find((r) => r.kind === JobKind.RECONSTRUCT && r.version === version) ?? null;
}

/** The record that wrote a file as it is now (its MD5 too), or null (raw files…). */
export function fileRecord(
  records: readonly Reconstruction[],
  file: Pick<DataFile, 'id' | 'md5'>,
): Reconstruction | null {
  return (
    records.find((r) => r.outputs.some((o) => o.fileId === file.id && o.md5 === file.md5)) ?? null
  );
}
