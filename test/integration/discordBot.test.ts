import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordBot } from '../../src/discordBot/DiscordBot';
import { Topic } from '../../src/pubsub';
import { createTestDatabase, type TestDatabase } from '../support/database';
import { fakeDiscord } from '../support/fakeDiscord';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { waitFor } from '../support/wait';
import { freePort } from '../support/ports';

// The Discord bot as a separate client: its own token, graphql-ws, a webhook that throttles
// once; it reconnects when the gateway restarts and resumes after its own restart without
// sending anything twice or losing what happened while it was away.

const READER = 'bot-reader-token-0123456';
const DAQ = 'bot-daq-token-0123456789';
const SHIFTER = 'bot-shifter-token-012345';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bot-'));
const stateFile = path.join(dir, 'state', 'discord-bot.json');
const discord = fakeDiscord();
let webhook: string;
let database: TestDatabase;
let port: number;
let gw: TestGateway;
let bot: DiscordBot | undefined;

const startGateway = () =>
  startTestGateway({
    database,
    env: { PORT: String(port), API_TOKENS: `reader:${READER},daq:${DAQ},shifter:${SHIFTER}` },
  });

function startBot(): DiscordBot {
  const b = new DiscordBot({
    gatewayUrl: gw.url,
    token: READER,
    webhookUrl: webhook,
    stateFile,
    minSeverity: 'WARNING',
    groupMs: 50,
    maxBackoffMs: 400,
  });
  b.start();
  return b;
}

const subscribed = () =>
  waitFor(() => gw.server.runtime.pubsub.listenerCount(Topic.AlarmEvent) > 0, 'the bot');

/** Titles of every embed Discord accepted, in order. */
const delivered = () =>
  discord.posts.filter((p) => p.status === 204).flatMap((p) => p.body.embeds.map((e) => e.title));

const raise = (fingerprint: string, name: string) =>
  gw.gql(
    `mutation { raiseAlarm(input: { fingerprint: "${fingerprint}", name: "${name}", severity: CRITICAL, source: "midas", message: "m" }) { id } }`,
    {},
    DAQ,
  );

beforeAll(async () => {
  webhook = await discord.listen();
  database = await createTestDatabase();
  port = await freePort();
  gw = await startGateway();
});
afterAll(async () => {
  await bot?.stop();
  await gw?.close();
  await database?.drop();
  discord.server.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('cygno-gateway discord-bot', () => {
  it('forwards alarm events, waiting out a 429', async () => {
    bot = startBot();
    await subscribed();
    await raise('hv:gem1', 'GEM1 trip');
    await waitFor(() => delivered().length === 1, 'the first message');
    expect(delivered()).toEqual(['🚨 [CRITICAL] GEM1 trip — RAISED']);
    expect(discord.posts[0].status).toBe(429); // throttled once, then sent
  });

  it('reconnects when the gateway restarts and keeps forwarding', async () => {
    await gw.close();
    gw = await startGateway();
    await waitFor(() => bot!.connections === 2, 'the bot to reconnect', 15_000);
    await subscribed();
    await raise('gas:flow', 'Gas flow low');
    await waitFor(() => delivered().length === 2, 'the message after reconnecting');
    expect(delivered()[1]).toBe('🚨 [CRITICAL] Gas flow low — RAISED');
  });

  it('after its own restart sends what it missed, once, and nothing twice', async () => {
    await bot!.stop();
    // While the bot is down: one alarm acknowledged, one new.
    const { id } = (
      await gw.gql(
        `{ alarms(filter: { source: "midas" }) { nodes { id fingerprint } } }`,
        {},
        READER,
      )
    ).data.alarms.nodes.find((a: { fingerprint: string }) => a.fingerprint === 'hv:gem1');
    await gw.gql(`mutation { acknowledgeAlarm(id: "${id}") { id } }`, {}, SHIFTER);
    await raise('daq:camera', 'Camera frontend down');

    bot = startBot();
    await waitFor(() => delivered().length === 4, 'the missed changes');
    await new Promise((resolve) => setTimeout(resolve, 500)); // anything extra would come now
    expect(delivered().slice(2).sort()).toEqual([
      '🚨 [CRITICAL] Camera frontend down — RAISED',
      '🚨 [CRITICAL] GEM1 trip — ACKNOWLEDGED',
    ]);
    expect(delivered()).toHaveLength(4);
    expect(JSON.parse(fs.readFileSync(stateFile, 'utf8')).sentKeys).toHaveLength(4);
  });
});
