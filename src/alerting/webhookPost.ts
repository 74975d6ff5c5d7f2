/** What became of a message: delivered, or the webhook is gone for good (404/401). */
export type WebhookOutcome = 'sent' | 'gone';

/**
 * Posts one message to a Discord webhook, honouring HTTP 429 (`retry_after` in the body, or
 * the Retry-After header) up to five times. 404 and 401 mean the webhook was deleted or its
 * token revoked; anything else is thrown for the caller to retry later.
 */
export async function postToWebhook(
  url: string,
  message: unknown,
  attempt = 1,
): Promise<WebhookOutcome> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(message),
    signal: AbortSignal.timeout(15_000),
  });
  if (res.ok) return 'sent';
  const body = await res.text();
  if (res.status === 429 && attempt <= 5) {
    let wait = Number(res.headers.get('retry-after') ?? 1);
    try {
      wait = Number(JSON.parse(body).retry_after ?? wait);
    } catch {
      /* keep the header's */
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(60, Math.max(0, wait)) * 1000));
    return postToWebhook(url, message, attempt + 1);
  }
  if (res.status === 404 || res.status === 401) return 'gone';
  throw new Error(`Discord answered HTTP ${res.status}: ${body.slice(0, 200)}`);
}
