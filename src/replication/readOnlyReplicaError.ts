import { AppError, ErrorCode } from '../errors';

/**
 * The answer a replica gateway gives to every write: refused, naming the primary. Not forwarded:
 * a write must never seem to succeed through a link that may be down, the lab's firewall need
 * not accept calls from the cloud, and the caller's token is not handed on to another server.
 */
export class ReadOnlyReplicaError extends AppError {
  constructor(primaryUrl: string) {
    super(
      ErrorCode.READ_ONLY_REPLICA,
      `this gateway serves a read-only replica of the experiment's database: send writes to the primary gateway at ${primaryUrl}`,
      { primaryUrl },
      403,
    );
  }
}
