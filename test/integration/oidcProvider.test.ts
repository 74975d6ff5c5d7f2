import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientCredentialsToken, fileToken } from '../../src/cli/tokenSource';
import { DiscordBot } from '../../src/discordBot/DiscordBot';
import { Topic } from '../../src/pubsub';
import { fakeDiscord } from '../support/fakeDiscord';
import { TestIdp, type IdpClient, type IdpUser } from '../support/idp';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { waitFor } from '../support/wait';

// Sign-in against a real, certified OpenID provider (panva's oidc-provider, as a child process)
// issuing tokens as INDIGO IAM does: users with groups through the password grant, robots
// without groups through client credentials. Acceptance, role mapping, key rotation, expiry,
// the audit of refusals, and the IdP's outages and misconfiguration.

const USERS: Record<string, IdpUser> = {
  shifter: { username: 'alice', password: 'alice-pw', sub: 'u-alice', groups: ['/cygno/shifter'] },
  reader: { username: 'carol', password: 'carol-pw', sub: 'u-carol', groups: ['/cygno'] },
  outsider: { username: 'dave', password: 'dave-pw', sub: 'u-dave', groups: ['/other'] },
};
const robot = (client_id: string, scope?: string): IdpClient => ({
  client_id,
  client_secret: `${client_id}-secret-0123456789`,
  grant_types: ['client_credentials'],
  ...(scope ? { scope } : {}),
});
const DAQ = robot('cygno-daq', 'cygno.daq');
const DAQ_SHORT = robot('cygno-daq-short', 'cygno.daq'); // 3-second tokens
const BOT = robot('cygno-reader-bot');
const STRANGER = robot('unmapped-robot');
const STATIC_DAQ = 'static-daq-token-0123456789';
const STATIC_ADMIN = 'static-admin-token-0123456789';
const ROLE_MAP =
  '/cygno/admin=admin,/cygno/daq=daq,/cygno/shifter=shifter,/cygno=reader,' +
  'scope:cygno.daq=daq,client:cygno-reader-bot=reader';

let idp: TestIdp;
let gw: TestGateway;
const gateways: TestGateway[] = [];

/** A gateway on the test IdP; the keys are old after 1 s and a fetch gives up after 0.5 s. */
async function gatewayFor(issuer: string, extra: Record<string, string> = {}) {
  const gateway = await startTestGateway({
    env: {
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: 'cygno-gateway',
      OIDC_ROLE_MAP: ROLE_MAP,
      OIDC_CLOCK_SKEW_S: '5',
      OIDC_JWKS_COOLDOWN_MS: '0',
      OIDC_JWKS_MAX_AGE_MS: '1000',
      OIDC_FETCH_TIMEOUT_MS: '500',
      API_TOKENS: `daq:${STATIC_DAQ},admin:${STATIC_ADMIN}`,
      WORKERS: '0',
      ...extra,
    },
  });
  gateways.push(gateway);
  return gateway;
}

beforeAll(async () => {
  idp = await TestIdp.start({
    users: Object.values(USERS),
    clients: [DAQ, DAQ_SHORT, BOT, STRANGER],
  });
  gw = await gatewayFor(idp.issuer);
});
afterAll(async () => {
  for (const gateway of gateways) await gateway.close();
  await idp?.close();
});

const READ = `{ runs(first: 1) { totalCount } }`;
const FLAG = `mutation { setQualityFlag(input: { runNumber: 1, subsystem: "camera", status: GOOD }) { id } }`;
const METRIC = `mutation { recordMetrics(samples: [{ name: "oidc.test", value: 1 }]) }`;
const codeOf = (res: { errors?: Array<{ extensions?: { code?: string } }> }) =>
  res.errors?.[0]?.extensions?.code ?? 'OK';
const auditLog = async (operation: string) =>
  (
    await gw.gql(
      `{ auditLog(first: 100) { nodes { principal operation outcome } } }`,
      {},
      STATIC_ADMIN,
    )
  ).data.auditLog.nodes.filter((n: { operation: string }) => n.operation === operation);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('tokens from a real OpenID provider', () => {
  it('starts the provider in well under a few seconds', () => {
    expect(idp.startMs).toBeLessThan(5_000);
  });

  it("maps users' groups (groups and wlcg.groups) to roles; a user of no mapped group is FORBIDDEN", async () => {
    const shifter = await idp.userToken(USERS.shifter);
    expect(codeOf(await gw.gql(READ, {}, shifter))).toBe('OK');
    expect(codeOf(await gw.gql(FLAG, {}, shifter))).not.toBe('FORBIDDEN'); // run 1 is unknown
    const reader = await idp.userToken(USERS.reader);
    expect(codeOf(await gw.gql(READ, {}, reader))).toBe('OK');
    expect(codeOf(await gw.gql(FLAG, {}, reader))).toBe('FORBIDDEN');
    const outsider = await gw.gql(READ, {}, await idp.userToken(USERS.outsider));
    expect(outsider.status).toBe(403);
    expect(codeOf(outsider)).toBe('FORBIDDEN');
  });

  it('maps groupless client-credentials robots by scope or client id (IAM issue 681)', async () => {
    const daq = await idp.clientToken(DAQ, 'cygno.daq');
    expect(codeOf(await gw.gql(METRIC, {}, daq))).toBe('OK');
    const bot = await idp.clientToken(BOT);
    expect(codeOf(await gw.gql(READ, {}, bot))).toBe('OK');
    expect(codeOf(await gw.gql(METRIC, {}, bot))).toBe('FORBIDDEN');
    const stranger = await gw.gql(METRIC, {}, await idp.clientToken(STRANGER));
    expect(stranger.status).toBe(403);
    expect(stranger.errors?.[0].message).toMatch(/none of its groups, scopes or client id/);
  });

  it('picks up a key rotation without a restart, and refuses a key taken out of service', async () => {
    const before = await idp.userToken(USERS.shifter);
    expect(codeOf(await gw.gql(READ, {}, before))).toBe('OK');
    await idp.rotate(); // a new signing key first, the old one still published
    const after = await idp.userToken(USERS.shifter);
    expect(codeOf(await gw.gql(READ, {}, after))).toBe('OK');
    expect(codeOf(await gw.gql(READ, {}, before))).toBe('OK');
    await idp.rotate(true); // the keys of `before` and `after` are gone
    await sleep(1_100); // past the cache age: the next check fetches the keys again
    const current = await idp.userToken(USERS.shifter);
    expect(codeOf(await gw.gql(READ, {}, current))).toBe('OK');
    const rotatedOut = await gw.gql(READ, {}, after);
    expect(rotatedOut.status).toBe(401);
    expect(rotatedOut.errors?.[0].message).toMatch(/unknown key/);
  });

  it('treats a token as valid over WebSocket exactly as long as over HTTP (the clock skew)', async () => {
    const token = await idp.clientToken(DAQ_SHORT, 'cygno.daq'); // expires in 3 s
    await sleep(4_000); // expired 1 s ago: within the 5 s skew
    expect(codeOf(await gw.gql(READ, {}, token))).toBe('OK');
    const opened = Date.now();
    let ackedAt = 0;
    const closed = await gw.socketClose(
      { authorization: `Bearer ${token}` },
      { onConnected: () => (ackedAt = Date.now()) },
    );
    expect(closed.code).toBe(4401);
    expect(closed.reason).toMatch(/expired/);
    expect(ackedAt).toBeGreaterThan(0);
    // Open until the end of the skew (~4 s after expiry + 5 s), not closed right after the ack.
    expect(Date.now() - opened).toBeGreaterThan(2_000);
  });

  it('records refused mutations in the audit log, and OIDC callers by a readable name', async () => {
    const expired = await idp.clientToken(DAQ_SHORT, 'cygno.daq');
    await sleep(3_000 + 5_000 + 500); // past expiry and skew
    const outcomes = [
      await gw.gql(METRIC, {}), // no token
      await gw.gql(METRIC, {}, expired),
      await gw.gql(METRIC, {}, `${(await idp.clientToken(DAQ, 'cygno.daq')).slice(0, -4)}AAAA`),
      await gw.gql(METRIC, {}, await idp.clientToken(STRANGER)),
      await gw.gql(METRIC, {}, await idp.clientToken(DAQ, 'cygno.daq')),
    ].map(codeOf);
    expect(outcomes).toEqual([
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'OK',
    ]);
    const rows = await auditLog('recordMetrics');
    expect(rows.map((r: { outcome: string }) => r.outcome)).toEqual(
      expect.arrayContaining(['UNAUTHENTICATED', 'FORBIDDEN', 'OK']),
    );
    expect(rows.filter((r: { outcome: string }) => r.outcome === 'UNAUTHENTICATED')).toHaveLength(
      3,
    );
    expect(rows.map((r: { principal: string }) => r.principal)).toContain('oidc:cygno-daq');
    await gw.gql(FLAG, {}, await idp.userToken(USERS.shifter));
    expect(
      (await auditLog('setQualityFlag')).map((r: { principal: string }) => r.principal),
    ).toContain('oidc:alice (sub u-alice)');
  });
});

describe('when the identity provider is away or misconfigured', () => {
  it('keeps verifying with the keys it holds; a key it lacks is 503 IDP_UNAVAILABLE, never 401', async () => {
    const held = await idp.clientToken(DAQ, 'cygno.daq');
    expect(codeOf(await gw.gql(METRIC, {}, held))).toBe('OK');
    await idp.rotate(); // a key the gateway has not fetched yet
    const unseen = await idp.clientToken(DAQ, 'cygno.daq');

    for (const outage of ['paused', 'killed'] as const) {
      if (outage === 'paused') idp.pause();
      else await idp.kill();
      // Past the cache age — the 10-minute age of production, shortened here to 1 s.
      await sleep(1_200);
      expect(codeOf(await gw.gql(METRIC, {}, held)), outage).toBe('OK');
      expect(codeOf(await gw.gql(METRIC, {}, STATIC_DAQ)), outage).toBe('OK');
      const refused = await request(gw.url)
        .post('/graphql')
        .set('authorization', `Bearer ${unseen}`)
        .send({ query: METRIC });
      expect(refused.status, outage).toBe(503);
      expect(refused.headers['retry-after'], outage).toBe('30');
      expect(refused.body.errors[0].extensions.code, outage).toBe('IDP_UNAVAILABLE');
      const ready = await request(gw.url).get('/readyz');
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'degraded', idp: { state: 'unreachable' } });
      // Over WebSocket: try again later, not "bad token".
      expect((await gw.socketClose({ authorization: `Bearer ${unseen}` })).code).toBe(1013);
    }

    idp.resume();
    await idp.restart();
    expect(codeOf(await gw.gql(METRIC, {}, unseen))).toBe('OK');
    const ready = await request(gw.url).get('/readyz');
    expect(ready.body).toMatchObject({ status: 'ready', idp: { state: 'ok' } });
  });

  it('says an issuer that differs from the discovery document is a configuration error', async () => {
    const token = await idp.userToken(USERS.shifter);
    for (const configured of [
      idp.issuer.replace(/\/$/, ''), // no trailing slash
      idp.issuer.replace('127.0.0.1', 'localhost'),
    ]) {
      const wrong = await gatewayFor(configured);
      const res = await request(wrong.url)
        .post('/graphql')
        .set('authorization', `Bearer ${token}`)
        .send({ query: READ });
      expect(res.status, configured).toBe(503);
      expect(res.body.errors[0].extensions.code).toBe('IDP_MISCONFIGURED');
      expect(res.body.errors[0].message).toContain(`"${configured}"`);
      expect(res.body.errors[0].message).toContain(`"${idp.issuer}"`);
      expect(res.body.errors[0].message).not.toMatch(/cannot be reached/);
      const ready = await request(wrong.url).get('/readyz');
      expect(ready.body.idp).toMatchObject({ state: 'misconfigured' });
    }
  });

  it('answers 503 when the IdP has never been reached, and still takes static tokens', async () => {
    const nowhere = await gatewayFor('http://127.0.0.1:9/');
    const token = await idp.userToken(USERS.shifter);
    const res = await request(nowhere.url)
      .post('/graphql')
      .set('authorization', `Bearer ${token}`)
      .send({ query: READ });
    expect(res.status).toBe(503);
    expect(res.body.errors[0].extensions.code).toBe('IDP_UNAVAILABLE');
    expect(codeOf(await nowhere.gql(READ, {}, STATIC_DAQ))).toBe('OK');
    await waitFor(
      async () => (await request(nowhere.url).get('/readyz')).body.idp?.state === 'unreachable',
      'readyz to report the IdP unreachable',
    );
  });
});

describe('long-lived clients on IdP tokens', () => {
  it('renews client-credentials tokens before they expire', async () => {
    const tokens = clientCredentialsToken({
      issuer: idp.issuer,
      clientId: DAQ_SHORT.client_id,
      clientSecret: DAQ_SHORT.client_secret,
      scope: 'cygno.daq',
    });
    const first = await tokens.token();
    expect(await tokens.token()).toBe(first); // reused while young
    await sleep(1_700); // 3-second tokens are renewed past half their life
    const second = await tokens.token();
    expect(second).not.toBe(first);
    expect(codeOf(await gw.gql(METRIC, {}, second))).toBe('OK');
  });

  it('reads a token file again when it changes, and keeps the old token while it is unreadable', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-token-file-'));
    const file = path.join(dir, 'token');
    try {
      await expect(fileToken(file).token()).rejects.toThrow(/token file .*no valid token/);
      const first = await idp.userToken(USERS.reader);
      fs.writeFileSync(file, `${first}\n`);
      const tokens = fileToken(file);
      expect(await tokens.token()).toBe(first);
      const second = await idp.userToken(USERS.shifter);
      fs.writeFileSync(file, second);
      expect(await tokens.token()).toBe(second);
      fs.writeFileSync(file, '');
      expect(await tokens.token()).toBe(second); // empty: the last good token, until it expires
      fs.rmSync(file);
      expect(await tokens.token()).toBe(second);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps a Discord bot on client credentials forwarding across the expiry of its tokens', async () => {
    const discord = fakeDiscord();
    discord.setMode('ok');
    const webhook = await discord.listen();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-bot-oidc-'));
    const bot = new DiscordBot({
      gatewayUrl: gw.url,
      tokens: clientCredentialsToken({
        issuer: idp.issuer,
        clientId: DAQ_SHORT.client_id, // 3-second tokens: the gateway closes at expiry + 5 s skew
        clientSecret: DAQ_SHORT.client_secret,
        scope: 'cygno.daq',
      }),
      webhookUrl: webhook,
      stateFile: path.join(dir, 'state.json'),
      minSeverity: 'WARNING',
      groupMs: 50,
      maxBackoffMs: 400,
    });
    const titles = () =>
      discord.posts.flatMap((p) => p.body.embeds.map((e: { title: string }) => e.title));
    try {
      const started = Date.now();
      bot.start();
      await waitFor(() => bot.connections === 1, 'the bot to connect');
      await gw.gql(RAISE('oidc:bot:1', 'Before expiry'), {}, STATIC_DAQ);
      await waitFor(() => titles().some((t) => t.includes('Before expiry')), 'the first alarm');
      // Its first token's connection is closed at expiry (+ skew); it reconnects with a new one.
      await waitFor(() => bot.connections >= 2, 'the bot to reconnect with a new token', 15_000);
      // Past the moment the gateway ends a connection on the first token (3 s + 5 s skew).
      await sleep(Math.max(0, started + 8_500 - Date.now()));
      await gw.gql(RAISE('oidc:bot:2', 'After expiry'), {}, STATIC_DAQ);
      await waitFor(() => titles().some((t) => t.includes('After expiry')), 'the later alarm');
    } finally {
      await bot.stop();
      discord.server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cygno-gateway subscribe renews client credentials, and says why it gives up', async () => {
    const cli = path.join(__dirname, '..', '..', 'bin', 'cygno-gateway.js');
    const query = 'subscription { runUpdated { runNumber } }';
    const follower = spawn(process.execPath, [cli, 'subscribe', query], {
      env: {
        ...process.env,
        GATEWAY_URL: gw.url,
        GATEWAY_OIDC_ISSUER: idp.issuer,
        GATEWAY_CLIENT_ID: DAQ_SHORT.client_id,
        GATEWAY_CLIENT_SECRET: DAQ_SHORT.client_secret,
        GATEWAY_OIDC_SCOPE: 'cygno.daq',
      },
    });
    let out = '';
    let err = '';
    follower.stdout.on('data', (chunk) => (out += chunk));
    follower.stderr.on('data', (chunk) => (err += chunk));
    try {
      const started = Date.now();
      await waitFor(() => (err.match(/subscribed on/g) ?? []).length >= 2, 'a renewed connection');
      await sleep(Math.max(0, started + 8_500 - Date.now())); // past the first token's end
      // The client reconnects with each renewed token: fire right after a fresh connection, so
      // the event cannot fall in the moment between two (the CLI replays nothing it missed).
      const connections = (err.match(/subscribed on/g) ?? []).length;
      await waitFor(
        () => (err.match(/subscribed on/g) ?? []).length > connections,
        'a connection on a renewed token',
      );
      const started4242 = await gw.gql(
        `mutation { startRun(input: { runNumber: 4242 }) { id } }`,
        {},
        STATIC_DAQ,
      );
      expect(started4242.errors).toBeUndefined();
      await waitFor(() => out.includes('4242'), 'the event after the first token expired');
    } finally {
      follower.kill();
    }

    const refused = spawn(process.execPath, [cli, 'subscribe', query], {
      env: {
        ...process.env,
        GATEWAY_URL: gw.url,
        GATEWAY_TOKEN: await idp.userToken(USERS.outsider),
      },
    });
    let refusal = '';
    refused.stderr.on('data', (chunk) => (refusal += chunk));
    const code = await new Promise((resolve) => refused.once('exit', resolve));
    expect(code).toBe(1);
    expect(refusal).toMatch(/gave up: 4403 oidc:dave \(sub u-dave\) maps to no role/);
  });

  it('subscribes with a user token', async () => {
    const sub = await gw.subscribe(
      `subscription { runUpdated { runNumber } }`,
      {},
      Topic.RunUpdated,
      await idp.userToken(USERS.reader),
    );
    sub.close();
  });
});

const RAISE = (fingerprint: string, name: string) =>
  `mutation { raiseAlarm(input: { fingerprint: "${fingerprint}", name: "${name}", severity: CRITICAL, source: "midas", message: "m" }) { id } }`;
