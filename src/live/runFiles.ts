import fsp from 'node:fs/promises';
import path from 'node:path';

/** One file of a run in the DAQ buffer: `run00042.mid.gz`, or subrun `run00042_001.mid.gz`. */
export interface RunFile {
  name: string;
  /** The subrun number (-1 for a file without one, which comes first). */
  subrun: number;
}

const RUN_FILE = /^run0*(\d+)(?:_(\d+))?\.mid(?:\.gz|\.lz4)?$/;

/** The run and subrun a MIDAS logger file name stands for, or undefined for other files. */
export function runFileOf(name: string): { runNumber: number; subrun: number } | undefined {
  const match = RUN_FILE.exec(name);
  if (!match) return undefined;
  return { runNumber: Number(match[1]), subrun: match[2] === undefined ? -1 : Number(match[2]) };
}

/** The run's files now in the buffer directory, in the order the logger wrote them. */
export async function runFilesIn(directory: string, runNumber: number): Promise<RunFile[]> {
  const names = await fsp.readdir(directory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const files: RunFile[] = [];
  for (const name of names) {
    const of = runFileOf(name);
    if (of?.runNumber === runNumber) files.push({ name, subrun: of.subrun });
  }
  return files.sort((a, b) => a.subrun - b.subrun || a.name.localeCompare(b.name));
}

/** The path of a run file in the buffer. */
export function inBuffer(directory: string, file: RunFile): string {
  return path.join(directory, file.name);
}
