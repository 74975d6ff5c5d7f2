import type { Alarm } from '../entities/Alarm';
import type { AlarmEventType } from '../schema/enums';

/** Discord's limits for a webhook message (developer docs, "Embed Limits"). */
export const DISCORD_LIMITS = Object.freeze({
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** Title, description, field names and values and footer of all embeds together. */
  total: 6000,
});

export interface DiscordEmbed {
  title: string;
  description: string;
  color: number;
  timestamp: string;
  fields: Array<{ name: string; value: string; inline?: boolean }>;
  footer?: { text: string };
}

export interface DiscordMessage {
  content: string;
  embeds: DiscordEmbed[];
  allowed_mentions: { parse: string[] };
}

const COLORS: Record<string, number> = { CRITICAL: 0xd32f2f, WARNING: 0xf9a825, INFO: 0x1976d2 };
const RESOLVED_COLOR = 0x2e7d32;

/**
 * Shortens to `max` UTF-16 units (the stricter of the ways to count), marking the cut and never
 * splitting a surrogate pair.
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

function embedSize(embed: DiscordEmbed): number {
  return (
    embed.title.length +
    embed.description.length +
    (embed.footer?.text.length ?? 0) +
    embed.fields.reduce((n, f) => n + f.name.length + f.value.length, 0)
  );
}

/** The most text one alarm's embed may take, so that a message holds a few. */
const MAX_EMBED = 2500;

export function alarmEmbed(type: AlarmEventType, alarm: Alarm): DiscordEmbed {
  const L = DISCORD_LIMITS;
  const labels = Object.entries(alarm.labels ?? {}).slice(0, L.fields - 3);
  const embed: DiscordEmbed = {
    title: clip(
      `${type === 'RESOLVED' ? '✅' : '🚨'} [${alarm.severity}] ${alarm.name} — ${type}`,
      L.title,
    ),
    description: clip(alarm.message, 1500),
    color: type === 'RESOLVED' ? RESOLVED_COLOR : (COLORS[alarm.severity] ?? COLORS.INFO),
    timestamp: new Date(alarm.lastRaisedAt).toISOString(),
    fields: [
      { name: 'source', value: clip(alarm.source, 200), inline: true },
      { name: 'count', value: String(alarm.count), inline: true },
      { name: 'state', value: alarm.state, inline: true },
      ...labels.map(([name, value]) => ({
        name: clip(name, 100),
        value: clip(String(value) || '—', 200),
        inline: true,
      })),
    ],
    footer: { text: clip(`alarm ${alarm.id} · ${alarm.fingerprint}`, 200) },
  };
  // One embed must leave room in a message: drop labels beyond a share of the total.
  while (embedSize(embed) > MAX_EMBED && embed.fields.length > 3) embed.fields.pop();
  return embed;
}

/**
 * Messages for a burst of alarm events: up to 10 embeds each and 6000 characters of embed text
 * in all, so a storm of alarms becomes a few messages rather than hundreds; the content line
 * says how many and how bad. Mentions are disabled (an alarm text must not ping @everyone).
 */
export function discordMessages(
  events: Array<{ type: AlarmEventType; alarm: Alarm }>,
): DiscordMessage[] {
  const messages: DiscordMessage[] = [];
  let current: DiscordEmbed[] = [];
  let size = 0;
  const flush = () => {
    if (current.length === 0) return;
    messages.push({ content: '', embeds: current, allowed_mentions: { parse: [] } });
    current = [];
    size = 0;
  };
  for (const { type, alarm } of events) {
    const embed = alarmEmbed(type, alarm);
    const n = embedSize(embed);
    if (current.length === DISCORD_LIMITS.embeds || size + n > DISCORD_LIMITS.total - 200) flush();
    current.push(embed);
    size += n;
  }
  flush();
  const critical = events.filter(
    (e) => e.alarm.severity === 'CRITICAL' && e.type !== 'RESOLVED',
  ).length;
  messages.forEach((message, i) => {
    const part = messages.length > 1 ? ` (${i + 1}/${messages.length})` : '';
    message.content = clip(
      `CYGNO alarms: ${events.length} change${events.length === 1 ? '' : 's'}${critical ? `, ${critical} critical` : ''}${part}`,
      DISCORD_LIMITS.content,
    );
  });
  return messages;
}
