/* global process */
// A real, certified OpenID provider for the test suite: panva's oidc-provider, configured as
// INDIGO IAM hands out tokens — RS256 JWT access tokens for the gateway's audience, `groups`
// (IAM's, without the leading slash) and `wlcg.groups` (WLCG's, with it) for users, no groups at
// all for client-credentials robots (indigo-iam/iam#681), `preferred_username`, `client_id`.
//
// Run as a child process: `node idp.mjs` with IDP_PORT, IDP_KEYS (a JSON file: private JWKs,
// the signing key first), IDP_USERS and IDP_CLIENTS (JSON), IDP_TOKEN_TTL (seconds). Prints
// `ready <issuer>` once it answers. SIGHUP reloads the key file (key rotation without a restart
// of the process); SIGTERM closes every connection and exits.
import fs from 'node:fs';
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.IDP_PORT);
const issuer = `http://127.0.0.1:${port}/`; // IAM's issuers end with a slash
const users = JSON.parse(process.env.IDP_USERS ?? '{}');
const clients = JSON.parse(process.env.IDP_CLIENTS ?? '[]');
const ttl = Number(process.env.IDP_TOKEN_TTL ?? 3600);
const RESOURCE = 'urn:test:audience:cygno-gateway';
const AUDIENCE = 'cygno-gateway';
const SCOPES = ['cygno.daq', 'cygno.reader', 'cygno.shifter'];

// A client whose id ends in `-short` gets tokens that live 3 s (expiry tests).
const ttlFor = (clientId) => (clientId?.endsWith('-short') ? 3 : ttl);
const resourceServerFor = (clientId) => ({
  scope: SCOPES.join(' '),
  audience: AUDIENCE,
  accessTokenTTL: ttlFor(clientId),
  accessTokenFormat: 'jwt',
  jwt: { sign: { alg: 'RS256' } },
});

function userBySub(sub) {
  return Object.values(users).find((u) => u.sub === sub);
}

function build() {
  const keys = JSON.parse(fs.readFileSync(process.env.IDP_KEYS, 'utf8'));
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys },
    ttl: {
      AccessToken: (_ctx, token) => ttlFor(token.clientId),
      ClientCredentials: (_ctx, token) => ttlFor(token.clientId),
    },
    scopes: ['openid', ...SCOPES],
    features: {
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator, client) => {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget();
          return resourceServerFor(client.clientId);
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const user = token.accountId ? userBySub(token.accountId) : undefined;
      if (!user) return undefined; // a robot: IAM puts no groups in client-credentials tokens
      return {
        preferred_username: user.username,
        groups: user.groups.map((g) => g.replace(/^\//, '')),
        'wlcg.groups': user.groups.map((g) => (g.startsWith('/') ? g : `/${g}`)),
      };
    },
    findAccount: (_ctx, sub) => {
      const user = userBySub(sub);
      return user ? { accountId: sub, claims: () => ({ sub }) } : undefined;
    },
  });
  // OAuth 2.1 dropped the password grant and oidc-provider has none; the tests' users sign in
  // with it, as the shift crew's command-line tools do against IAM.
  provider.registerGrantType(
    'password',
    async (ctx) => {
      const { username, password, scope } = ctx.oidc.params;
      const user = users[username];
      if (!user || user.password !== password)
        throw new errors.InvalidGrant('wrong username or password');
      const token = new provider.AccessToken({
        accountId: user.sub,
        client: ctx.oidc.client,
        grantId: randomUUID(),
        gty: 'password',
        scope: scope ?? undefined,
      });
      token.resourceServer = new provider.ResourceServer(
        RESOURCE,
        resourceServerFor(ctx.oidc.client.clientId),
      );
      const value = await token.save();
      ctx.body = {
        access_token: value,
        expires_in: token.expiration,
        token_type: 'Bearer',
        scope: token.scope,
      };
    },
    ['username', 'password', 'scope'],
  );
  return provider;
}

let callback = build().callback();
const server = http.createServer((req, res) => callback(req, res));
process.on('SIGHUP', () => {
  callback = build().callback();
  process.stdout.write('reloaded\n');
});
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${issuer}\n`));
