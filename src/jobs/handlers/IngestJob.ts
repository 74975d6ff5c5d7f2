import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import type { Database } from '../../db/Database';
import { DataFile } from '../../entities/DataFile';
import type { RunService } from '../../services/RunService';
import { FileKind, JobKind, LocalState } from '../../schema/enums';
import { PermanentJobError } from '../errors';
import type { JobContext, JobHandler, JobOutcome } from '../registry';

interface Measured {
  id: number;
  name: string;
  sizeBytes: number;
  md5: string;
}

/**
 * INGEST, first stage: checks that every file the DAQ declared for the run is in the buffer,
 * complete (declared size) and intact (declared MD5), and records what it measured. Reading
 * the buffer is all it does; the copy to the object store and the event index build on it.
 */
export class IngestJob implements JobHandler {
  readonly kind = JobKind.INGEST;

  constructor(
    private readonly db: Database,
    private readonly runs: RunService,
  ) {}

  async run(context: JobContext): Promise<JobOutcome> {
    const runId = context.job.runId;
    if (runId == null) throw new PermanentJobError(`job ${context.job.id} names no run`);
    const files = await this.db.manager.find(DataFile, {
      where: { runId, kind: FileKind.RAW },
      order: { id: 'ASC' },
    });

    const sizes = await Promise.all(files.map((file) => this.sizeInBuffer(file)));
    const total = sizes.reduce((sum, size) => sum + size, 0);
    const measured: Measured[] = [];
    let done = 0;
    for (const [index, file] of files.entries()) {
      const md5 = await this.hash(file, context, (bytes) =>
        context.progress(total === 0 ? 1 : (done + bytes) / total),
      );
      done += sizes[index];
      measured.push({ id: file.id, name: file.name, sizeBytes: sizes[index], md5 });
    }

    return {
      result: { files: measured.map(({ name, sizeBytes, md5 }) => ({ name, sizeBytes, md5 })) },
      commit: async (manager) => {
        for (const file of measured) {
          await manager.update(DataFile, file.id, {
            sizeBytes: file.sizeBytes,
            md5: file.md5,
            localState: LocalState.PRESENT,
          });
        }
      },
      afterCommit: () => this.runs.publish(runId),
    };
  }

  /** The file's size; a missing or short file is retried (the DAQ may still be writing it). */
  private async sizeInBuffer(file: DataFile): Promise<number> {
    if (!file.localPath) throw new PermanentJobError(`${file.name}: no buffer path recorded`);
    let size: number;
    try {
      const stats = await fsp.stat(file.localPath);
      if (!stats.isFile())
        throw new PermanentJobError(`${file.name}: ${file.localPath} is not a regular file`);
      size = stats.size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error(`${file.name}: not found in the DAQ buffer at ${file.localPath}`);
      }
      throw error;
    }
    if (file.sizeBytes != null && size !== file.sizeBytes) {
      throw new Error(
        `${file.name}: ${size} bytes in the buffer, ${file.sizeBytes} declared by the DAQ (still being written?)`,
      );
    }
    return size;
  }

  private async hash(
    file: DataFile,
    context: JobContext,
    onBytes: (bytes: number) => void,
  ): Promise<string> {
    const md5 = createHash('md5');
    let bytes = 0;
    const stream = fs.createReadStream(file.localPath!, {
      highWaterMark: 1 << 20,
      signal: context.signal,
    });
    try {
      for await (const chunk of stream) {
        md5.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        onBytes(bytes);
      }
    } catch (error) {
      context.throwIfAborted();
      throw error;
    }
    const digest = md5.digest('hex');
    if (file.declaredMd5 && digest !== file.declaredMd5) {
      throw new PermanentJobError(
        `${file.name}: MD5 ${digest} differs from the declared ${file.declaredMd5}`,
        'CHECKSUM_MISMATCH',
      );
    }
    return digest;
  }
}
