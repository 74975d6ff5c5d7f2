/** Argument names whose values are secrets: they never reach the audit log or the logs. */
const SECRET_NAME = /token|secret|password|passwd|authorization|credential|api_?key|private/i;

export const REDACTED = '[redacted]';

/** A copy of `value` with every secret-named property replaced, at any depth. */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 20) return REDACTED; // arguments this deep are not worth keeping
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, depth + 1));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [
        key,
        SECRET_NAME.test(key) ? REDACTED : redactSecrets(item, depth + 1),
      ]),
    );
  }
  return value;
}
