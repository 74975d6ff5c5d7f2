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
    return this.db.manager.find(Reconstruction, { where: { runId }, order: { id: 'DESC' } });
  }

  /** The reconstruction that wrote a run's clusters of one version: the newest of them. */
  clustersOf(runId: number, version: number): Promise<Reconstruction | null> {
    return this.db.manager.findOne(Reconstruction, {
      where: { runId, version, kind: JobKind.RECONSTRUCT },
      order: { id: 'DESC' },
    });
  }

  /** The reconstruction that wrote a file as it is now (its MD5 too), or null (raw files…). */
  async producedBy(file: Pick<DataFile, 'id' | 'runId' | 'md5'>): Promise<Reconstruction | null> {
    const records = await this.ofRun(file.runId);
    return (
      records.find((r) => r.outputs.some((o) => o.fileId === file.id && o.md5 === file.md5)) ?? null
    );
  }

  /** One run's lineage as a W3C PROV-JSON document. */
  async runLineage(runNumber: number): Promise<ProvDocument> {
    const run = await this.db.manager.findOneBy(Run, { runNumber });
    if (!run) throw new NotFoundError('run', runNumber);
    return provJson(run.runNumber, await this.ofRun(run.id));
  }
}
