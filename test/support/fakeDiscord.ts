import http from 'node:http';
import type { DiscordMessage } from '../../src/alerting/discordFormat';

/** A stand-in for Discord: records every post; answers 429 once, or 404 when told. */
export function fakeDiscord() {
  const posts: Array<{ status: number; body: DiscordMessage }> = [];
  let mode: 'ok' | 'throttle-once' | 'gone' = 'throttle-once';
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      const body = JSON.parse(data) as DiscordMessage;
      const status = mode === 'gone' ? 404 : mode === 'throttle-once' ? 429 : 204;
      posts.push({ status, body });
      if (mode === 'throttle-once') mode = 'ok';
      if (status === 429) {
        res.writeHead(429, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            message: 'You are being rate limited.',
            retry_after: 0.3,
            global: false,
          }),
        );
      } else if (status === 404) {
        res
          .writeHead(404, { 'content-type': 'application/json' })
          .end('{"message": "Unknown Webhook", "code": 10015}');
      } else res.writeHead(204).end();
    });
  });
  return {
    posts,
    server,
    setMode: (m: typeof mode) => (mode = m),
    async listen() {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as { port: number }).port}/api/webhooks/1234567890/test-token`;
    },
  };
}
