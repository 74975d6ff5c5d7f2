import { parseArgs } from 'node:util';
import { checkWebhookUrl } from '../config/discordWebhook';
import { DiscordBot } from '../discordBot/DiscordBot';
import { tokenSourceFrom } from './tokenSource';
import { Severity } from '../schema/enums';

const USAGE = `usage: cygno-gateway discord-bot [--min-severity WARNING] [--state FILE]
       [--token-file FILE] [--client-id ID --client-secret SECRET]

Follows the gateway's alarm events over graphql-ws and forwards them to a Discord webhook;
reconnects with backoff and, after a disconnection or a restart, sends what it missed exactly
once. GATEWAY_URL (default http://127.0.0.1:4000); the token from GATEWAY_TOKEN (a reader token
is enough), a token file (--token-file or GATEWAY_TOKEN_FILE, read again when it changes) or
OAuth client credentials (GATEWAY_CLIENT_ID, GATEWAY_CLIENT_SECRET, GATEWAY_OIDC_ISSUER,
GATEWAY_OIDC_SCOPE), renewed before it expires;
DISCORD_WEBHOOK_URL (required), DISCORD_GROUP_MS (2000). The state file (default
./var/discord-bot.json) remembers what was delivered.`;

/** `cygno-gateway discord-bot`: runs until interrupted. */
export async function discordBotCommand(argv: string[], env = process.env): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'min-severity': { type: 'string' },
      state: { type: 'string' },
      'token-file': { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!env.DISCORD_WEBHOOK_URL) throw new Error('DISCORD_WEBHOOK_URL is required');
  const minSeverity = values['min-severity'] ?? 'WARNING';
  const severities: string[] = Object.values(Severity);
  if (!severities.includes(minSeverity))
    throw new Error(`--min-severity: ${severities.join(', ')}, not "${minSeverity}"`);
  let fatal: (reason: string) => void = () => undefined;
  const failed = new Promise<string>((resolve) => (fatal = resolve));
  const bot = new DiscordBot({
    gatewayUrl: (env.GATEWAY_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, ''),
    tokens: tokenSourceFrom(env, {
      tokenFile: values['token-file'],
      clientId: values['client-id'],
      clientSecret: values['client-secret'],
    }),
    onFatal: (reason) => fatal(reason),
    webhookUrl: checkWebhookUrl(env.DISCORD_WEBHOOK_URL),
    stateFile: values.state ?? './var/discord-bot.json',
    minSeverity,
    groupMs: Number(env.DISCORD_GROUP_MS ?? 2000),
    maxBackoffMs: 30_000,
  });
  bot.start();
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  const failure = await Promise.race([stopped.then(() => undefined), failed]);
  await bot.stop();
  // A bot that gave up must not look like one that was stopped: the command fails.
  if (failure) throw new Error(`discord-bot gave up: ${failure}`);
}
