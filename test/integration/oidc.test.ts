import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from 'jose';
import { Topic } from '../../src/pubsub';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { TestIssuer } from '../support/oidcIssuer';

// INDIGO IAM sign-in against a local issuer: discovery, JWKS, RS256 tokens signed by test keys.

let issuer: TestIssuer;
let gw: TestGateway;

beforeAll(async () => {
  issuer = await TestIssuer.start();
  gw = await startTestGateway({
    env: {
      OIDC_ISSUER: issuer.url,
      OIDC_AUDIENCE: 'cygno-gateway',
      OIDC_CLOCK_SKEW_S: '5',
      OIDC_JWKS_COOLDOWN_MS: '0',
      API_TOKENS: `admin:${ADMIN}`,
    },
  });
});
afterAll(async () => {
  await gw?.close();
  await issuer?.close();
});

const WHOAMI = `{ runs(first: 1) { totalCount } }`;
const ADMIN = 'oidc-suite-admin-token-0123';
const FLAG = `mutation { setQualityFlag(input: { runNumber: 1, subsystem: "camera", status: GOOD }) { id } }`;
const now = () => Math.floor(Date.now() / 1000);

describe('OIDC bearer tokens', () => {
  it('accepts a valid token and maps its groups (groups or wlcg.groups) to roles', async () => {
    const shifter = await issuer.token({ groups: ['cygno/shifter'] });
    expect((await gw.gql(WHOAMI, {}, shifter)).errors).toBeUndefined();
    expect((await gw.gql(FLAG, {}, shifter)).errors?.[0].extensions?.code).not.toBe('FORBIDDEN');

    const reader = await issuer.token({ groups: undefined, 'wlcg.groups': ['/cygno'] });
    expect((await gw.gql(WHOAMI, {}, reader)).errors).toBeUndefined();
    expect((await gw.gql(FLAG, {}, reader)).errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('refuses a member of no mapped group (FORBIDDEN, HTTP 403)', async () => {
    const outsider = await issuer.token({ groups: ['other-experiment'] });
    const res = await gw.gql(WHOAMI, {}, outsider);
    expect(res.status).toBe(403);
    expect(res.errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });

  it('rejects every bad token with UNAUTHENTICATED', async () => {
    const { privateKey: strangerKey } = await generateKeyPair('RS256');
    const valid = await issuer.token();
    const [head, payload, signature] = valid.split('.');
    const tampered = JSON.parse(Buffer.from(payload, 'base64url').toString());
    tampered.groups = ['/cygno/admin'];
    const cases: Record<string, string> = {
      expired: await issuer.token({ exp: now() - 60, iat: now() - 3700 }),
      'not yet valid': await issuer.token({ nbf: now() + 600 }),
      'wrong audience': await issuer.token({ aud: 'another-service' }),
      'wrong issuer': await issuer.token({ iss: 'https://evil.example.org/' }),
      'unknown kid': await issuer.token({}, { kid: 'nobody-has-this', key: strangerKey }),
      'signed by a stranger with a known kid': await issuer.token({}, { key: strangerKey }),
      'alg none': issuer.unsignedToken(),
      'HS256 with the public key': issuer.hs256WithPublicKey(),
      'tampered payload': `${head}.${Buffer.from(JSON.stringify(tampered)).toString('base64url')}.${signature}`,
      'no expiry': await issuer.token({ exp: undefined }),
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await gw.gql(WHOAMI, {}, token);
      expect(res.errors?.[0].extensions?.code, name).toBe('UNAUTHENTICATED');
      expect(res.status, name).toBe(401);
      // The same token on a mutation: refused, and the refusal is in the audit log.
      const mutation = await gw.gql(
        `mutation { recordMetrics(samples: [{ name: "forged.${name.replace(/\W/g, '_')}", value: 1 }]) }`,
        {},
        token,
      );
      expect(mutation.errors?.[0].extensions?.code, name).toBe('UNAUTHENTICATED');
    }
    const audit = await gw.gql(
      `{ auditLog(first: 100, filter: { operation: "recordMetrics" }) { nodes { principal outcome arguments } } }`,
      {},
      ADMIN,
    );
    const refused = audit.data.auditLog.nodes.filter(
      (n: { outcome: string }) => n.outcome === 'UNAUTHENTICATED',
    );
    expect(refused).toHaveLength(Object.keys(cases).length);
    expect(refused.every((n: { principal: string }) => n.principal === 'unauthenticated')).toBe(
      true,
    );
  });

  it('picks up a key rotation at the issuer without a restart', async () => {
    const before = await issuer.token();
    expect((await gw.gql(WHOAMI, {}, before)).errors).toBeUndefined();
    const fetches = issuer.jwksFetches;
    await issuer.rotate();
    const after = await issuer.token();
    expect((await gw.gql(WHOAMI, {}, after)).errors).toBeUndefined();
    expect(issuer.jwksFetches).toBe(fetches + 1); // fetched once, on the unknown kid
    expect((await gw.gql(WHOAMI, {}, after)).errors).toBeUndefined();
    expect(issuer.jwksFetches).toBe(fetches + 1); // then served from the cache
  });
});

const closeCodeOf = async (token: string, query: string) =>
  (await gw.socketClose({ authorization: `Bearer ${token}` }, { query })).code;

describe('OIDC tokens over graphql-ws', () => {
  it('subscribes with a valid token; closes 4401 for a bad one and 4403 without a role', async () => {
    const sub = await gw.subscribe(
      `subscription { runUpdated(runNumber: 31) { runNumber } }`,
      {},
      Topic.RunUpdated,
      await issuer.token(),
    );
    sub.close();
    const query = 'subscription { runUpdated { runNumber } }';
    expect(await closeCodeOf(await issuer.token({ aud: 'x' }), query)).toBe(4401);
    expect(await closeCodeOf(await issuer.token({ groups: ['nobody'] }), query)).toBe(4403);
  });

  it('ends a subscription when its token expires', async () => {
    const token = await issuer.token({ exp: now() + 2 });
    const started = Date.now();
    const code = await closeCodeOf(token, 'subscription { runUpdated { runNumber } }');
    expect(code).toBe(4401);
    expect(Date.now() - started).toBeGreaterThan(500); // it was open until the expiry
  });
});
