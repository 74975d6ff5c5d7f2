/**
 * What a job works on, as stored in its `subject`: with its kind and version, the natural key
 * that makes enqueueing idempotent. Built here only, so that every producer of a kind of job
 * agrees on its key.
 */
export const jobSubject = {
  /** A run's job (INGEST, RECONSTRUCT, PEDESTAL): one per run and version. */
  run: (runNumber: number): string => `run:${runNumber}`,
  /** A file's job (TAPE_COPY, TAPE_RECALL). */
  file: (fileId: number): string => `file:${fileId}`,
};
