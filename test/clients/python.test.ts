import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simulateDaq } from '../../src/cli/simulate';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { TestIdp, type IdpClient } from '../support/idp';
import { waitFor } from '../support/wait';

// The Python notebook client (clients/python) against a running gateway, with Debian's
// python3-requests and python3-websockets: its own unittest suite, run by Debian's python3.

const PYTHON = process.env.PYTHON ?? '/usr/bin/python3';
const CLIENT = path.join(__dirname, '..', '..', 'clients', 'python');
const TOKEN = 'python-client-token-0123';
// A robot whose tokens live 3 seconds (the test IdP's `-short` clients).
const SHORT: IdpClient = {
  client_id: 'python-daq-short',
  client_secret: 'python-daq-short-secret-0123',
  grant_types: ['client_credentials'],
  scope: 'cygno.daq',
};
let gw: TestGateway;
let idp: TestIdp;

beforeAll(async () => {
  if (!fs.existsSync(PYTHON))
    throw new Error(
      `no ${PYTHON}: apt-get install python3 python3-requests python3-websockets python3-numpy python3-pandas`,
    );
  idp = await TestIdp.start({ clients: [SHORT] });
  gw = await startTestGateway({
    env: {
      API_TOKENS: `admin:${TOKEN}`,
      OIDC_ISSUER: idp.issuer,
      OIDC_AUDIENCE: 'cygno-gateway',
      OIDC_ROLE_MAP: 'scope:cygno.daq=daq',
      OIDC_CLOCK_SKEW_S: '0',
    },
  });
  // gzip, as CYGNO writes: event_bytes reads through the seek index.
  await simulateDaq(gw.config, ['--runs', '2', '--events', '3', '--size', '256', '--gzip'], {
    GATEWAY_URL: gw.url,
    GATEWAY_TOKEN: TOKEN,
  });
  await waitFor(
    async () =>
      (await gw.gql(`{ run(runNumber: 2) { recoStatus } }`, {}, TOKEN)).data.run?.recoStatus ===
      'DONE',
    'run 2 reconstructed',
    90_000,
  );
}, 120_000);
afterAll(async () => {
  await gw?.close();
  await idp?.close();
});

describe('the Python client', () => {
  it('passes its unittest suite against the gateway', async () => {
    const result = await new Promise<{ code: number; output: string }>((resolve) =>
      execFile(
        PYTHON,
        ['-m', 'unittest', 'discover', '-v', '-s', 'tests', '-t', '.'],
        {
          cwd: CLIENT,
          env: {
            PATH: process.env.PATH,
            GATEWAY_URL: gw.url,
            GATEWAY_TOKEN: TOKEN,
            PYTHONPATH: CLIENT,
            IDP_ISSUER: idp.issuer,
            IDP_CLIENT_ID: SHORT.client_id,
            IDP_CLIENT_SECRET: SHORT.client_secret,
          },
          timeout: 120_000,
        },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, output: `${stdout}${stderr}` }),
      ),
    );
    expect(result.output).toMatch(/Ran 17 tests/);
    expect(result.code, result.output).toBe(0);
  }, 150_000);
});
