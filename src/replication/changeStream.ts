import { AppError, ErrorCode } from '../errors';
import type { Change, ChangeFollower } from './changeFollower';

/**
 * The changes after `afterId` (all of them from the log, then live), or only live ones when
 * `afterId` is null; each once, in log order, filtered to `topics`. The resume point is checked
 * before the stream starts: an id this database has not seen, or one the log no longer holds,
 * is refused with a message telling the client to re-query — never a silent gap.
 */
export async function changeStream(
  follower: ChangeFollower,
  afterId: number | null,
  topics: ReadonlySet<string> | null,
): Promise<AsyncGenerator<Change>> {
  const live: Change[] = [];
  let wake: (() => void) | undefined;
  const listening = await follower.listen((change) => {
    live.push(change);
    wake?.();
  });
  try {
    if (afterId !== null) await checkResumable(follower, afterId, listening.position);
  } catch (error) {
    listening.stop();
    throw error;
  }
  const wanted = (change: Change) => topics === null || topics.has(change.topic);

  async function* stream(): AsyncGenerator<Change> {
    try {
      // Changes the log held when we joined, then those handed on since; a late id that the
      // follower fills in (a transaction that committed after a later one) can be in both.
      const replayed = new Set<number>();
      if (afterId !== null)
        for await (const change of follower.history(afterId, listening.position)) {
          replayed.add(change.id);
          if (wanted(change)) yield change;
        }
      for (;;) {
        while (live.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const change = live.shift()!;
        if (change.id <= listening.position && replayed.has(change.id)) continue;
        if (wanted(change)) yield change;
      }
    } finally {
      listening.stop();
    }
  }
  return stream();
}

async function checkResumable(
  follower: ChangeFollower,
  afterId: number,
  position: number,
): Promise<void> {
  const reQuery = 're-query the current state, then subscribe again without `after`';
  if (afterId > position) {
    const newest = await follower.newestId();
    if (afterId > newest)
      throw new AppError(
        ErrorCode.CHANGE_ID_UNAVAILABLE,
        `change ${afterId} is unknown here (the newest is ${newest}): ${reQuery}`,
        { reason: 'UNKNOWN', newestId: newest },
      );
  }
  const oldest = await follower.oldestId();
  const firstKept = oldest ?? position + 1;
  if (afterId + 1 < firstKept)
    throw new AppError(
      ErrorCode.CHANGE_ID_UNAVAILABLE,
      `change ${afterId} is older than the change log keeps (its oldest is ${firstKept}): ${reQuery}`,
      { reason: 'TOO_OLD', oldestId: firstKept },
    );
}
