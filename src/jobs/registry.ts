import type { EntityManager } from 'typeorm';
import type { Job } from '../entities/Job';
import type { JsonObject } from '../entities/columns';
import { JobKind } from '../schema/enums';

/** What a handler may use while it runs. */
export interface JobContext {
  readonly job: Job;
  /** Aborted when the job is cancelled, its lease is lost, or the worker shuts down. */
  readonly signal: AbortSignal;
  /** Reports progress (0–1); cheap to call often, written at most every few hundred ms. */
  progress(fraction: number): void;
  /** Throws JobAbortedError when the job should stop; call it inside loops. */
  throwIfAborted(): void;
}

/** What a handler returns: a result to store and the writes to commit with the job's success. */
export interface JobOutcome {
  result?: JsonObject;
  /**
   * Runs in the transaction that marks the job SUCCEEDED: handler results and follow-up jobs
   * commit together with it, or not at all. Returns jobs it enqueued, to announce after commit.
   */
  commit?: (manager: EntityManager) => Promise<Job[] | void>;
  /** Runs after the commit (publish run updates…). */
  afterCommit?: () => Promise<void> | void;
}

export interface JobHandler {
  readonly kind: JobKind;
  run(context: JobContext): Promise<JobOutcome>;
}

/** The handler of every job kind; refuses to exist with a kind left unhandled. */
export class HandlerRegistry {
  private readonly handlers = new Map<JobKind, JobHandler>();

  constructor(handlers: JobHandler[]) {
    for (const handler of handlers) {
      if (this.handlers.has(handler.kind))
        throw new Error(`two handlers registered for job kind ${handler.kind}`);
      this.handlers.set(handler.kind, handler);
    }
    const missing = Object.values(JobKind).filter((kind) => !this.handlers.has(kind));
    if (missing.length > 0)
      throw new Error(`no handler registered for job kind(s): ${missing.join(', ')}`);
  }

  get kinds(): JobKind[] {
    return [...this.handlers.keys()];
  }

  get(kind: JobKind): JobHandler {
    const handler = this.handlers.get(kind);
    if (!handler) throw new Error(`no handler for job kind ${kind}`);
    return handler;
  }
}
