import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('has an embedded default for everything', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 4000,
      host: '127.0.0.1',
      databaseUrl: 'sqlite:./var/cygno.sqlite',
      redisUrl: undefined,
      objectStoreUrl: 'file:./var/objects',
      tapeUrl: 'file:./var/tape',
      daqBufferDir: path.resolve('./var/buffer'),
      site: 'LNGS',
      apiTokens: [],
      maxPageSize: 500,
      publicUrl: 'http://127.0.0.1:4000',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable at once', () => {
    const found = problems({
      PORT: 'eighty',
      DATABASE_URL: 'postgres://x/y',
      REDIS_URL: 'not a url',
      JOB_LEASE_MS: '5',
      SITE: 'L N G S',
    });
    expect(found).toHaveLength(5);
    expect(found[0]).toMatch(/^PORT: expected an integer >= 0 and <= 65535, got "eighty"/);
    expect(found.join('\n')).toMatch(/DATABASE_URL: unsupported scheme "postgres:"/);
    expect(found.join('\n')).toMatch(/REDIS_URL: not a valid URL/);
    expect(found.join('\n')).toMatch(/JOB_LEASE_MS: expected an integer >= 200/);
    expect(found.join('\n')).toMatch(/SITE: expected letters, digits/);
  });

  it('takes reconstruction parameters and DQ bands as JSON, CYGNO defaults underneath', () => {
    const config = loadConfig({
      RECO_PARAMETERS: '{"version": 2, "nsigma": 2.5}',
      RECO_THREADS: '1',
      FE55_WINDOW_ADC: '3000,25000',
    });
    expect(config.recoParameters).toMatchObject({ version: 2, nsigma: 2.5, rebin: 4, cimax: 5000 });
    expect(config.recoThreads).toBe(1);
    expect(config.fe55).toMatchObject({ minAdc: 3000, maxAdc: 25000, keV: 5.9 });
    expect(config.dqBands.length).toBeGreaterThan(0);

    const found = problems({
      RECO_PARAMETERS: '{"nsigma": 0, "rebinn": 4}',
      DQ_BANDS: '[{"metric": "x"}]',
      FE55_WINDOW_ADC: '9000,100',
      CAMERA_BANK: 'CAMERA0',
    });
    expect(found).toEqual([
      'RECO_PARAMETERS: unknown parameter "rebinn"; nsigma: expected a positive number, got 0',
      'CAMERA_BANK: expected a bank name, got "CAMERA0"',
      'DQ_BANDS: band 0: metric and subsystem are required strings',
      'FE55_WINDOW_ADC: expected "min,max" in ADC, min < max',
    ]);
    expect(problems({ RECO_PARAMETERS: '{not json' })[0]).toMatch(/^RECO_PARAMETERS: /);
  });

  it('refuses to bind beyond loopback without authentication', () => {
    expect(problems({ HOST: '0.0.0.0' })).toEqual([
      expect.stringMatching(/^HOST: refusing to bind to 0.0.0.0 without authentication/),
    ]);
    expect(
      loadConfig({ HOST: '0.0.0.0', API_TOKENS: 'reader:abcdefghijklmnopqrstuvwxyz' }).host,
    ).toBe('0.0.0.0');
  });

  it('validates API_TOKENS and never keeps the token itself', () => {
    expect(problems({ API_TOKENS: 'wizard:abcdefghijklmnop' })).toEqual([
      expect.stringMatching(/API_TOKENS: entry 1 has unknown role "wizard"/),
    ]);
    expect(problems({ API_TOKENS: 'daq:short' })).toEqual([
      expect.stringMatching(/API_TOKENS: entry 1 \(daq\): token shorter than 16/),
    ]);
    expect(problems({ API_TOKENS: 'nocolon' })).toEqual([
      expect.stringMatching(/entry 1 is not role:token/),
    ]);
    const config = loadConfig({
      API_TOKENS: 'daq:abcdefghijklmnopqrst, reader:zyxwvutsrqponmlkjih',
    });
    expect(config.apiTokens.map((t) => t.role)).toEqual(['daq', 'reader']);
    expect(JSON.stringify(config)).not.toContain('abcdefghijklmnopqrst');
  });

  it('reads OIDC settings with CYGNO group defaults and refuses incomplete or unsafe ones', () => {
    const config = loadConfig({
      OIDC_ISSUER: 'https://iam.cloud.infn.it/',
      OIDC_AUDIENCE: 'cygno-gateway',
    });
    expect(config.oidc?.roleMap.groups.get('/cygno/shifter')).toBe('shifter');
    expect(config.oidc?.roleMap.groups.get('/cygno/production')).toBe('production');
    expect(config.oidc?.groupClaims).toEqual(['groups', 'wlcg.groups']);
    expect(problems({ OIDC_ISSUER: 'https://iam.example.org/' })[0]).toMatch(
      /OIDC_AUDIENCE: required/,
    );
    expect(problems({ OIDC_ISSUER: 'http://iam.example.org/', OIDC_AUDIENCE: 'x' })[0]).toMatch(
      /must be https/,
    );
    expect(
      problems({ OIDC_ISSUER: 'https://i.org/', OIDC_AUDIENCE: 'x', OIDC_ALGORITHMS: 'HS256' })[0],
    ).toMatch(/HS256 is not an asymmetric/);
    expect(
      problems({
        OIDC_ISSUER: 'https://i.org/',
        OIDC_AUDIENCE: 'x',
        OIDC_ROLE_MAP: '/cygno=boss',
      })[0],
    ).toMatch(/OIDC_ROLE_MAP.*not group=role/);
    expect(loadConfig({ HOST: '0.0.0.0', AUTH_REQUIRED: 'true' }).host).toBe('0.0.0.0');
    expect(problems({ HOST: '0.0.0.0' })[0]).toMatch(/HOST: refusing/);
  });

  it('a replica gateway needs a MariaDB replica and the primary URL, and runs no workers', () => {
    expect(problems({ GATEWAY_ROLE: 'replica' })).toEqual([
      'GATEWAY_ROLE: a replica gateway needs a MariaDB replica as DATABASE_URL',
      "PRIMARY_URL: required with GATEWAY_ROLE=replica (callers' mutations are sent there)",
    ]);
    const replica = loadConfig({
      GATEWAY_ROLE: 'replica',
      DATABASE_URL: 'mariadb://u:p@cloud-db/cygno',
      PRIMARY_URL: 'https://lab.example.org',
      WORKERS: '4',
      MIGRATE_ON_START: 'true',
      CHANGE_LOG: 'false',
    });
    expect(replica).toMatchObject({ workers: 0, migrateOnStart: false, changeLog: true });
    expect(problems({ GATEWAY_ROLE: 'standby' })[0]).toMatch(/GATEWAY_ROLE: expected one of/);
    // The change log is on where replication exists, off on the embedded SQLite default.
    expect(loadConfig({}).changeLog).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'mariadb://u:p@db/cygno' }).changeLog).toBe(true);
  });
});
