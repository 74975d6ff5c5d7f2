import { readMidasEvents, type MidasEvent } from '../reco/midas';
import { followGrowingFile } from './growingFile';
import { inBuffer, runFilesIn, type RunFile } from './runFiles';

export interface LiveRunSource {
  bufferDir: string;
  runNumber: number;
  signal: AbortSignal;
  pollMs: number;
  /** Whether the run was closed (then the follower reads what is there and stops). */
  closed: () => Promise<boolean>;
  /** Go on from here: the events of earlier files, and before this offset, are not yielded. */
  resume?: { fileName: string; offset: number };
  /** Told of each file of the run, read now or (before `resume`) before. */
  onFile?: (file: RunFile) => void;
}

/**
 * The complete events of an open run's files as MIDAS' logger writes them: `run00042.mid.gz`,
 * or subruns `run00042_000.mid.gz`, `_001`… in order. A file is finished when a later subrun
 * exists or the run is closed; until then the reader waits at its end for the rest of the last
 * event (a gzip or LZ4 stream cut mid-block simply waits for its next bytes). An event's data
 * is valid until the next is asked for. A file that ends mid-event once finished (a DAQ crash)
 * ends in the reader's MidasFormatError; one shortened or replaced, in a FollowError.
 */
export async function* liveRunEvents(
  source: LiveRunSource,
): AsyncGenerator<{ file: RunFile; event: MidasEvent }> {
  const { bufferDir, runNumber, signal, pollMs } = source;
  let after: RunFile | undefined;
  let resume = source.resume;
  for (;;) {
    const file = await nextFile(source, after);
    if (!file) return;
    after = file;
    source.onFile?.(file);
    if (resume && resume.fileName !== file.name) continue; // read wholly before the restart
    const skipBelow = resume?.offset ?? 0;
    resume = undefined;
    const finished = async () =>
      (await source.closed()) ||
      (await runFilesIn(bufferDir, runNumber)).some((f) => f.subrun > file.subrun);
    const bytes = followGrowingFile(inBuffer(bufferDir, file), { signal, finished, pollMs });
    for await (const event of readMidasEvents(bytes, { reuseBuffer: true })) {
      if (event.offset < skipBelow) continue;
      yield { file, event };
    }
    if (signal.aborted) return;
  }
}

/** The run's next file after `after`, waiting for it while the run is open. */
async function nextFile(source: LiveRunSource, after: RunFile | undefined) {
  const wait = () => new Promise((resolve) => setTimeout(resolve, source.pollMs));
  for (;;) {
    if (source.signal.aborted) return undefined;
    // Closed is read first: files listed after it are all the run has.
    const closed = await source.closed();
    const files = await runFilesIn(source.bufferDir, source.runNumber);
    const next = after ? files.find((f) => f.subrun > after.subrun) : files[0];
    if (next || closed) return next;
    await wait();
  }
}
