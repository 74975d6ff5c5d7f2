import { Not, type EntityManager } from 'typeorm';
import type { Database } from '../../db/Database';
import { DataFile } from '../../entities/DataFile';
import { Run } from '../../entities/Run';
import { MidasFormatError, CompressionError } from '../../reco/midas';
import type { Crc32cSidecar } from '../../reco/checksums';
import { CYGNO_BOR_LINKS, CYGNO_EOR_LINKS, extractAttributes } from '../../reco/runAttributes';
import { FileKind, JobKind, LocalState, ReplicaState, Severity } from '../../schema/enums';
import type { AlarmService } from '../../services/AlarmService';
import type { CopyResult, IngestService } from '../../services/IngestService';
import type { RecoService } from '../../services/RecoService';
import type { RunService } from '../../services/RunService';
import type { TapeService } from '../../services/TapeService';
import { replaceEventIndex } from '../../services/eventIndex';
import { OutsideBufferError } from '../../services/bufferPaths';
import { PermanentJobError } from '../errors';
import type { JobContext, JobHandler, JobOutcome } from '../registry';

export interface IngestOptions {
  site: string;
  /** Object key of a raw file: {site}, {name}, {run} (run number), {run5} (zero-padded to 5). */
  objectKeyTemplate: string;
}

export function objectKeyFor(
  template: string,
  site: string,
  name: string,
  runNumber: number,
): string {
  return template
    .replaceAll('{site}', site)
    .replaceAll('{name}', name)
    .replaceAll('{run5}', String(runNumber).padStart(5, '0'))
    .replaceAll('{run}', String(runNumber));
}

interface Ingested {
  file: DataFile;
  key: string;
  copy: CopyResult;
}

/**
 * INGEST (m2c): every raw file of a closed run goes from the DAQ buffer to the object store,
 * hashed (MD5, adler32, CRC-32C) and indexed in the same read; the copy is checked against
 * the DAQ's declared size and MD5, the `.crc32c` sidecar when there is one, and the stored
 * object itself. Only then does the file become AVAILABLE, with its events and the run's
 * ODB attributes, in the transaction that marks the job done and queues its reconstruction. A mismatch marks the file BAD
 * and raises an alarm; the buffer file is never touched.
 */
export class IngestJob implements JobHandler {
  readonly kind = JobKind.INGEST;

  constructor(
    private readonly db: Database,
    private readonly runs: RunService,
    private readonly ingest: IngestService,
    private readonly alarms: AlarmService,
    private readonly reco: RecoService,
    private readonly tape: TapeService,
    private readonly options: IngestOptions,
  ) {}

  async run(context: JobContext): Promise<JobOutcome> {
    const { runId, runNumber } = context.job;
    if (runId == null || runNumber == null)
      throw new PermanentJobError(`job ${context.job.id} names no run`);
    const files = await this.db.manager.find(DataFile, {
      where: { runId, kind: FileKind.RAW },
      order: { id: 'ASC' },
    });
    const sizes = await allOrPermanentFirst(files.map((file) => this.sizeInBuffer(file)));
    const total = sizes.reduce((sum, size) => sum + size, 0);

    const ingested: Ingested[] = [];
    let done = 0;
    for (const [index, file] of files.entries()) {
      const key = objectKeyFor(
        this.options.objectKeyTemplate,
        this.options.site,
        file.name,
        runNumber,
      );
      await this.assertKeyFree(file, key);
      await this.setCloudState(file, ReplicaState.COPYING, runId);
      const sidecar = await this.ingest.readSidecar(file.localPath!);
      const copy = await this.copy(file, key, sizes[index], context, Boolean(sidecar), (bytes) =>
        context.progress(total === 0 ? 1 : (done + bytes) / total),
      );
      await this.verify(file, key, copy, sidecar, runId, runNumber);
      done += sizes[index];
      ingested.push({ file, key, copy });
    }

    const attributes = Object.assign(
      {},
      ...ingested.map(({ copy }) => ({
        ...(copy.bor ? extractAttributes(copy.bor, CYGNO_BOR_LINKS) : {}),
        ...(copy.eor ? extractAttributes(copy.eor, CYGNO_EOR_LINKS) : {}),
      })),
    );
    const eventCount = ingested.reduce((sum, { copy }) => sum + copy.events.length, 0);
    return {
      result: {
        eventCount,
        files: ingested.map(({ file, key, copy }) => ({
          name: file.name,
          key,
          sizeBytes: copy.sizeBytes,
          md5: copy.md5,
          adler32: copy.adler32,
          events: copy.events.length,
        })),
      },
      commit: async (manager) => {
        for (const { file, key, copy } of ingested)
          await this.record(manager, runId, file, key, copy);
        const run = await manager.findOneByOrFail(Run, { id: runId });
        await manager.update(Run, runId, {
          eventCount: run.eventCount ?? eventCount,
          attributes: { ...attributes, ...run.attributes },
        });
        // The next steps commit with this one: no ingested run is left without its
        // reconstruction, no raw file without its tape copy (when a tape is configured).
        const next = [await this.reco.enqueue(manager, run)];
        for (const { file, key } of ingested) {
          const copy = await this.tape.enqueueCopy(manager, { ...file, objectKey: key }, runNumber);
          if (copy) next.push(copy);
        }
        return next;
      },
      afterCommit: () => this.runs.publish(runId),
    };
  }

  private async copy(
    file: DataFile,
    key: string,
    size: number,
    context: JobContext,
    crc32c: boolean,
    onBytes: (bytes: number) => void,
  ): Promise<CopyResult> {
    try {
      return await this.ingest.copyAndIndex(file.localPath!, key, size, {
        signal: context.signal,
        onBytes,
        crc32c,
      });
    } catch (error) {
      context.throwIfAborted();
      await this.setCloudState(file, null, file.runId);
      if (error instanceof MidasFormatError || error instanceof CompressionError) {
        // Retrying cannot repair the file: fail now, with the reader's own words.
        throw new PermanentJobError(`${file.name}: ${error.message}`, 'MALFORMED_MIDAS');
      }
      if (error instanceof OutsideBufferError) throw new PermanentJobError(error.message);
      throw error; // the store or the disk: worth another attempt
    }
  }

  /** Any disagreement between what was declared, what was read and what was stored is fatal. */
  private async verify(
    file: DataFile,
    key: string,
    copy: CopyResult,
    sidecar: Crc32cSidecar | undefined,
    runId: number,
    runNumber: number,
  ): Promise<void> {
    const problems: string[] = [];
    if (file.declaredMd5 && copy.md5 !== file.declaredMd5)
      problems.push(`MD5 ${copy.md5} differs from the declared ${file.declaredMd5}`);
    if (file.sizeBytes != null && copy.sizeBytes !== file.sizeBytes)
      problems.push(`read ${copy.sizeBytes} bytes, ${file.sizeBytes} declared`);
    if (sidecar && (sidecar.crc32c !== copy.crc32c || sidecar.sizeBytes !== copy.sizeBytes)) {
      problems.push(
        `CRC-32C ${copy.crc32c} / ${copy.sizeBytes} bytes differ from the .crc32c sidecar's ${sidecar.crc32c} / ${sidecar.sizeBytes}`,
      );
    }
    const stored =
      problems.length === 0
        ? await this.ingest.verifyStored(key, copy.sizeBytes, copy.md5, copy.stored)
        : null;
    if (stored) problems.push(stored);
    if (problems.length === 0) return;

    const message = `${file.name}: ${problems.join('; ')}`;
    // Never a replica: the object goes, the buffer file stays, and people are told.
    await this.ingest.deleteObject(key);
    // The BAD state and its alarm commit together: no bad file goes unannounced.
    const alarm = await this.db.transaction(async (m) => {
      await m.update(DataFile, file.id, {
        cloudState: ReplicaState.BAD,
        md5: copy.md5,
        adler32: copy.adler32,
      });
      return this.alarms.record(m, {
        fingerprint: `checksum-mismatch:${file.id}`,
        name: 'Checksum mismatch',
        severity: Severity.CRITICAL,
        source: 'ingest',
        message: `run ${runNumber}: ${message}; the buffer file is kept`,
        labels: { run: String(runNumber), file: file.name },
      });
    });
    this.alarms.announce(alarm);
    await this.runs.publish(runId);
    throw new PermanentJobError(message, 'CHECKSUM_MISMATCH');
  }

  private async record(
    manager: EntityManager,
    runId: number,
    file: DataFile,
    key: string,
    copy: CopyResult,
  ): Promise<void> {
    await manager.update(DataFile, file.id, {
      sizeBytes: copy.sizeBytes,
      md5: copy.md5,
      adler32: copy.adler32,
      localState: LocalState.PRESENT,
      bucket: this.ingest.bucket,
      objectKey: key,
      cloudState: ReplicaState.AVAILABLE,
    });
    await replaceEventIndex(manager, runId, file.id, copy.events);
  }

  /** Two files must never share an object: the second upload would overwrite the first. */
  private async assertKeyFree(file: DataFile, key: string): Promise<void> {
    const other = await this.db.manager.findOne(DataFile, {
      where: { objectKey: key, cloudState: Not(ReplicaState.DELETED) },
    });
    if (other && other.id !== file.id) {
      throw new PermanentJobError(
        `${file.name}: object key ${key} already holds file ${other.id} of run id ${other.runId}; set OBJECT_KEY_TEMPLATE to tell them apart`,
        'KEY_CONFLICT',
      );
    }
  }

  private async setCloudState(
    file: DataFile,
    state: ReplicaState | null,
    runId: number,
  ): Promise<void> {
    await this.db.write((m) => m.update(DataFile, file.id, { cloudState: state }));
    await this.runs.publish(runId);
  }

  /** The file's size; a missing or short file is retried (the DAQ may still be writing it). */
  private async sizeInBuffer(file: DataFile): Promise<number> {
    if (!file.localPath) throw new PermanentJobError(`${file.name}: no buffer path recorded`);
    let size: number;
    try {
      const stats = await this.ingest.statBufferFile(file.localPath);
      if (!stats.isFile())
        throw new PermanentJobError(`${file.name}: ${file.localPath} is not a regular file`);
      size = stats.size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`${file.name}: not found in the DAQ buffer at ${file.localPath}`);
      }
      // Retrying cannot make a link lead back inside; nothing about its target is told.
      if (error instanceof OutsideBufferError) throw new PermanentJobError(error.message);
      throw error;
    }
    if (file.sizeBytes != null && size < file.sizeBytes) {
      throw new Error(
        `${file.name}: ${size} bytes in the buffer, ${file.sizeBytes} declared by the DAQ (still being written?)`,
      );
    }
    return size;
  }
}

/**
 * Like Promise.all, but when several fail, a permanent failure wins over a passing one: a run
 * with one file that can never be ingested must fail at once, whatever the order the checks end in.
 */
async function allOrPermanentFirst<T>(promises: Array<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(promises);
  const failures = settled.flatMap((s) => (s.status === 'rejected' ? [s.reason as unknown] : []));
  if (failures.length > 0)
    throw failures.find((f) => f instanceof PermanentJobError) ?? failures[0];
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}
