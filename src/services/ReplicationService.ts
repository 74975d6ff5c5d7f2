import { BadUserInputError } from '../errors';
import type { Change as LoggedChange, ChangeFollower } from '../replication/changeFollower';
import { changeStream } from '../replication/changeStream';
import type { ReplicationMonitor, ReplicationState } from '../replication/replicationMonitor';
import { Change, ChangeTopic } from '../schema/replication';

const CLIENT_TOPICS = new Set<string>(Object.values(ChangeTopic));

/** Replication as the API sees it: how current this gateway's data is, and the change feed. */
export class ReplicationService {
  constructor(
    private readonly role: 'primary' | 'replica',
    private readonly follower?: ChangeFollower,
    private readonly monitor?: ReplicationMonitor,
  ) {}

  status(): ReplicationState {
    if (this.monitor) return this.monitor.latest;
    return {
      role: 'PRIMARY',
      status: 'OK',
      seconds: 0,
      heartbeatAt: null,
      newestChangeId: null,
      newestChangeAt: null,
      ioRunning: null,
      sqlRunning: null,
      lastError: 'the change log is off (CHANGE_LOG=false): no replica can follow this gateway',
      maxLagSeconds: 0,
      primaryUrl: null,
      checkedAt: new Date(),
    };
  }

  get isReplica(): boolean {
    return this.role === 'replica';
  }

  /** Changes after `after` (replayed from the log), then live; only live ones without it. */
  async changes(
    after: string | null | undefined,
    topics: readonly ChangeTopic[] | null | undefined,
  ): Promise<AsyncIterable<Change>> {
    if (!this.follower)
      throw new BadUserInputError(
        'this gateway keeps no change log (CHANGE_LOG=false): subscribe to runUpdated, jobUpdated, alarmEvents or eventReconstructed instead',
      );
    let afterId: number | null = null;
    if (after != null) {
      afterId = Number(after);
      if (!Number.isSafeInteger(afterId) || afterId < 0)
        throw new BadUserInputError(`after: expected a change id, got "${after}"`, 'after');
    }
    const wanted = new Set<string>(topics?.length ? topics : CLIENT_TOPICS);
    const stream = await changeStream(this.follower, afterId, wanted);
    return mapStream(stream, toChange);
  }
}

function toChange(logged: LoggedChange): Change {
  const payload = JSON.parse(logged.message) as unknown;
  const change = {
    id: logged.id,
    topic: logged.topic as ChangeTopic,
    at: logged.at,
    run: null,
    job: null,
    alarmEvent: null,
    event: null,
  } as Change;
  if (logged.topic === ChangeTopic.RUN_UPDATED) change.run = payload as Change['run'];
  else if (logged.topic === ChangeTopic.JOB_UPDATED) change.job = payload as Change['job'];
  else if (logged.topic === ChangeTopic.ALARM_EVENT)
    change.alarmEvent = payload as Change['alarmEvent'];
  else if (logged.topic === ChangeTopic.EVENT_RECONSTRUCTED)
    change.event = payload as Change['event'];
  return change;
}

async function* mapStream<A, B>(source: AsyncGenerator<A>, map: (a: A) => B): AsyncGenerator<B> {
  try {
    for await (const item of source) yield map(item);
  } finally {
    await source.return(undefined);
  }
}
