/** A failure that retrying cannot fix (bad checksum, malformed input): the job fails at once. */
export class PermanentJobError extends Error {
  constructor(
    message: string,
    readonly code = 'PERMANENT',
  ) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/** The worker no longer holds the job's lease (it expired and another worker took the job). */
export class LeaseLostError extends Error {
  constructor(jobId: number) {
    super(`job ${jobId}: lease lost; another worker owns it now`);
    this.name = 'LeaseLostError';
  }
}

/** Raised inside a handler when the job was cancelled or the worker is shutting down. */
export class JobAbortedError extends Error {
  constructor(readonly reason: 'cancelled' | 'shutdown' | 'lease-lost') {
    super(`job aborted: ${reason}`);
    this.name = 'JobAbortedError';
  }
}

/**
 * The job cannot start yet (it waits for another job, e.g. a pedestal map): it goes back to the
 * queue for `delayMs` without using up an attempt, with the reason shown as its last error.
 */
export class DeferJobError extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
    this.name = 'DeferJobError';
  }
}
