import { createHash } from 'node:crypto';

/**
 * The deduplication key of an alarm whose sender gave none: the same source, name and labels
 * (in any order) give the same key, as Alertmanager derives an alert's fingerprint from its
 * label set. `auto:` and 16 hex digits of the SHA-256 of those, so it fits the column and the
 * fingerprint pattern whatever the labels hold.
 */
export function deriveFingerprint(alarm: {
  source: string;
  name: string;
  labels?: Record<string, string> | null;
}): string {
  const labels = Object.entries(alarm.labels ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  const identity = JSON.stringify([alarm.source, alarm.name, labels]);
  return `auto:${createHash('sha256').update(identity).digest('hex').slice(0, 16)}`;
}
