/** A Discord webhook URL (https://discord.com/api/webhooks/ID/TOKEN), or loopback for tests. */
export function checkWebhookUrl(url: string): string {
  const parsed = new URL(url);
  const discord = ['discord.com', 'discordapp.com', 'ptb.discord.com', 'canary.discord.com'];
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname);
  if (!loopback && (parsed.protocol !== 'https:' || !discord.includes(parsed.hostname)))
    throw new Error(
      `not a Discord webhook: expected https://discord.com/api/webhooks/<id>/<token>, got host ${parsed.hostname}`,
    );
  if (!/^\/api(\/v\d+)?\/webhooks\/\d+\/[\w-]+\/?$/.test(parsed.pathname))
    throw new Error('not a Discord webhook: the path must be /api/webhooks/<id>/<token>');
  return url;
}
