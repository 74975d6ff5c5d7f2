import { parseArgs } from 'node:util';
import { checkWebhookUrl } from '../config/discordWebhook';
import { DiscordBot } from '../discordBot/DiscordBot';
import { Severity } from '../schema/enums';

const USAGE = `usage: cygno-gateway discord-bot [--min-severity WARNING] [--state FILE]

Follows the gateway's alarm events over graphql-ws and forwards them to a Discord webhook;
reconnects with backoff and, after a disconnection or a restart, sends what it missed exactly
once. GATEWAY_URL (default http://127.0.0.1:4000), GATEWAY_TOKEN (a reader token is enough),
DISCORD_WEBHOOK_URL (required), DISCORD_GROUP_MS (2000). The state file (default
./var/discord-bot.json) remembers what was delivered.`;

/** `cygno-gateway discord-bot`: runs until interrupted. */
export async function discordBotCommand(argv: string[], env = process.env): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'min-severity': { type: 'string' },
      state: { type: 'string' },
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
  const bot = new DiscordBot({
    gatewayUrl: (env.GATEWAY_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, ''),
    token: env.GATEWAY_TOKEN,
    webhookUrl: checkWebhookUrl(env.DISCORD_WEBHOOK_URL),
    stateFile: values.state ?? './var/discord-bot.json',
    minSeverity,
    groupMs: Number(env.DISCORD_GROUP_MS ?? 2000),
    maxBackoffMs: 30_000,
  });
  bot.start();
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await bot.stop();
}
