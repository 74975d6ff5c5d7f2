import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DISCORD_LIMITS,
  discordMessages,
  type DiscordMessage,
} from '../../src/alerting/discordFormat';
import { ConfigError, loadConfig } from '../../src/config';
import type { Alarm } from '../../src/entities/Alarm';
import { AlarmEventType, Severity } from '../../src/schema/enums';
import { DiscordDispatcher } from '../../src/alerting/DiscordDispatcher';
import { PubSub } from '../../src/pubsub';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { waitFor } from '../support/wait';
import { fakeDiscord } from '../support/fakeDiscord';

function checkLimits(message: DiscordMessage) {
  expect(message.content.length).toBeLessThanOrEqual(DISCORD_LIMITS.content);
  expect(message.embeds.length).toBeLessThanOrEqual(DISCORD_LIMITS.embeds);
  let total = 0;
  for (const e of message.embeds) {
    expect(e.title.length).toBeLessThanOrEqual(DISCORD_LIMITS.title);
    expect(e.description.length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
    expect(e.fields.length).toBeLessThanOrEqual(DISCORD_LIMITS.fields);
    total += e.title.length + e.description.length + (e.footer?.text.length ?? 0);
    for (const f of e.fields) {
      expect(f.name.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldName);
      expect(f.value.length).toBeLessThanOrEqual(DISCORD_LIMITS.fieldValue);
      total += f.name.length + f.value.length;
    }
  }
  expect(total).toBeLessThanOrEqual(DISCORD_LIMITS.total);
}

describe('Discord messages', () => {
  it('stay within every Discord limit, however long and many the alarms', () => {
    const alarm = (i: number): Alarm =>
      ({
        id: i,
        fingerprint: `f${i}`.repeat(20),
        name: 'N'.repeat(400),
        severity: Severity.CRITICAL,
        source: 's'.repeat(300),
        message: 'm'.repeat(10_000),
        labels: Object.fromEntries(
          Array.from({ length: 40 }, (_, k) => [`label${k}`, 'v'.repeat(2000)]),
        ),
        state: 'FIRING',
        count: 1,
        lastRaisedAt: new Date(),
      }) as unknown as Alarm;
    const events = Array.from({ length: 37 }, (_, i) => ({
      type: AlarmEventType.RAISED,
      alarm: alarm(i),
    }));
    const messages = discordMessages(events);
    expect(messages.reduce((n, m) => n + m.embeds.length, 0)).toBe(37);
    messages.forEach(checkLimits);
    expect(messages[0].content).toMatch(/^CYGNO alarms: 37 changes, 37 critical \(1\/\d+\)$/);
    expect(messages[0].allowed_mentions).toEqual({ parse: [] });
  });

  it('refuses a webhook URL that is not Discord’s', () => {
    const problems = (url: string) => {
      try {
        loadConfig({ DISCORD_WEBHOOK_URL: url });
        return [];
      } catch (error) {
        return (error as ConfigError).problems;
      }
    };
    expect(problems('https://example.com/api/webhooks/1/x')[0]).toMatch(
      /^DISCORD_WEBHOOK_URL: not a Discord webhook: expected https:\/\/discord\.com\/api\/webhooks/,
    );
    expect(problems('https://discord.com/channels/1/2')[0]).toMatch(
      /the path must be \/api\/webhooks/,
    );
    expect(problems('https://discord.com/api/webhooks/123/abc-DEF_9')).toEqual([]);
  });
});

describe('Discord dispatch', () => {
  let gw: TestGateway;
  const discord = fakeDiscord();

  beforeAll(async () => {
    const url = await discord.listen();
    gw = await startTestGateway({ env: { DISCORD_WEBHOOK_URL: url, DISCORD_GROUP_MS: '300' } });
  });
  afterAll(async () => {
    await gw?.close();
    discord.server.close();
  });

  it('groups a burst into few messages, waits out a 429, and skips silenced alarms', async () => {
    const alarms = gw.server.runtime.services.alarms;
    await gw.gql(
      `mutation { createSilence(input: { matchers: { subsystem: "gas" }, endsAt: 4102444800000 }) { id } }`,
    );
    for (let i = 0; i < 15; i++) {
      await alarms.raise({
        fingerprint: `burst:${i}`,
        name: `HV channel ${i} tripped`,
        severity: Severity.CRITICAL,
        source: 'slow-control',
        message: `channel ${i} current above limit`,
        labels: { subsystem: 'hv' },
      });
    }
    await alarms.raise({
      fingerprint: 'gas:flow',
      name: 'Gas flow low',
      severity: Severity.WARNING,
      source: 'slow-control',
      message: 'silenced',
      labels: { subsystem: 'gas' },
    });
    await waitFor(
      () => discord.posts.filter((p) => p.status === 204).length >= 2,
      'two delivered messages',
    );
    const delivered = discord.posts.filter((p) => p.status === 204).map((p) => p.body);
    expect(discord.posts[0].status).toBe(429);
    expect(delivered.map((m) => m.embeds.length)).toEqual([10, 5]);
    delivered.forEach(checkLimits);
    const titles = delivered.flatMap((m) => m.embeds.map((e) => e.title)).join('\n');
    expect(titles).toContain('HV channel 14 tripped');
    expect(titles).not.toContain('Gas flow low');
  });

  it('does not repeat a still-firing alarm within the repeat interval', async () => {
    const before = discord.posts.length;
    await gw.server.runtime.services.alarms.raise({
      fingerprint: 'burst:3',
      name: 'HV channel 3 tripped',
      severity: Severity.CRITICAL,
      source: 'slow-control',
      message: 'again',
      labels: { subsystem: 'hv' },
    });
    await new Promise((r) => setTimeout(r, 800));
    expect(discord.posts.length).toBe(before);
  });

  it('stops using a webhook that answers 404 and raises a local alarm', async () => {
    discord.setMode('gone');
    await gw.server.runtime.services.alarms.raise({
      fingerprint: 'after-gone',
      name: 'Something else',
      severity: Severity.WARNING,
      source: 'test',
      message: 'x',
    });
    const alarm = await waitFor(async () => {
      const nodes = (
        await gw.gql(
          `{ alarms(filter: { source: "discord" }) { nodes { fingerprint severity message } } }`,
        )
      ).data.alarms.nodes;
      return nodes[0];
    }, 'the local alarm');
    expect(alarm).toMatchObject({ fingerprint: 'discord:webhook-gone', severity: 'CRITICAL' });
    expect(alarm.message).toMatch(/answered 404 or 401.*alarms are no longer sent to Discord/);
    const count = discord.posts.length;
    await gw.server.runtime.services.alarms.raise({
      fingerprint: 'after-dead',
      name: 'Not sent',
      severity: Severity.CRITICAL,
      source: 'test',
      message: 'x',
    });
    await new Promise((r) => setTimeout(r, 600));
    expect(discord.posts.length).toBe(count);
  });
});

describe('Discord dispatch from several replicas', () => {
  let gw: TestGateway;
  let otherPubSub: PubSub;
  let other: DiscordDispatcher;
  const discord = fakeDiscord();

  beforeAll(async () => {
    const url = await discord.listen();
    gw = await startTestGateway({ env: { DISCORD_WEBHOOK_URL: url, DISCORD_GROUP_MS: '200' } });
    // A second replica's dispatcher with the same webhook: through Redis when the suite has it
    // (a connection of its own, as another process would have), else on the same in-process bus.
    otherPubSub = process.env.REDIS_URL
      ? await PubSub.redis(process.env.REDIS_URL, gw.config.redisPrefix)
      : gw.server.runtime.pubsub;
    other = new DiscordDispatcher(url, otherPubSub, gw.server.runtime.services, {
      groupMs: 200,
      repeatIntervalMs: 3_600_000,
    });
    await other.start();
  });
  afterAll(async () => {
    await other?.stop();
    if (otherPubSub !== gw?.server.runtime.pubsub) await otherPubSub?.close();
    await gw?.close();
    discord.server.close();
  });

  it('sends each alarm event once, and a repeat from any replica not at all within the interval', async () => {
    discord.setMode('ok');
    const alarms = gw.server.runtime.services.alarms;
    const raise = (i: number) =>
      alarms.raise({
        fingerprint: `replicas:${i}`,
        name: `PMT ${i} dark rate high`,
        severity: Severity.WARNING,
        source: 'slow-control',
        message: 'above band',
      });
    for (let i = 0; i < 3; i++) await raise(i);
    const titles = () =>
      discord.posts
        .filter((p) => p.status === 204)
        .flatMap((p) => p.body.embeds.map((e) => e.title))
        .filter((title) => title.includes('PMT'));
    await waitFor(() => titles().length >= 3, 'the three alarms on Discord');
    await raise(1); // REPEATED, heard by both replicas
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(titles().sort()).toEqual(
      [0, 1, 2].map((i) => expect.stringContaining(`PMT ${i} dark rate high`)),
    );
  });
});
