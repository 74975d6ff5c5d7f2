import { describe, expect, it } from 'vitest';
import { parseApiTokens, principalForToken } from '../../src/auth/apiTokens';
import { bearerToken } from '../../src/auth/authenticate';
import { hasAnyRole, Role } from '../../src/auth/roles';
import { rowId } from '../../src/resolvers/ids';
import { resolveBufferPath } from '../../src/services/bufferPaths';
import {
  normaliseRunType,
  normaliseRunTypes,
  runTypeFromDescription,
} from '../../src/services/runType';
import { UrlSigner } from '../../src/storage/signedUrls';

describe('runTypeFromDescription', () => {
  it('reads CYGNO descriptions', () => {
    expect(runTypeFromDescription('S003:DATA:Fe source')).toBe('DATA');
    expect(runTypeFromDescription('S001:ped:pedestal run')).toBe('PED');
    expect(runTypeFromDescription('free text')).toBeNull();
    expect(runTypeFromDescription(null)).toBeNull();
  });
});

describe('normaliseRunType: the one rule for run types, stored and filtered', () => {
  it('upper-cases and trims; blank is no type', () => {
    expect(normaliseRunType(' cal ')).toBe('CAL');
    expect(normaliseRunType('')).toBeNull();
    expect(normaliseRunTypes(['cal', 'Data', ' '])).toEqual(['CAL', 'DATA']);
    expect(normaliseRunTypes(null)).toEqual([]);
  });
});

describe('rowId: the one parser of ID arguments', () => {
  it('takes positive integers and names the argument otherwise', () => {
    expect(rowId('42', 'a file', 'fileId')).toBe(42);
    for (const bad of ['0', '-1', '1.5', '1e3', 'abc', '', '9007199254740993']) {
      expect(() => rowId(bad, 'a file', 'fileId'), bad).toThrow(/^fileId: ".*" is not a file id$/);
    }
  });
});

describe('resolveBufferPath', () => {
  it('keeps paths inside the buffer', () => {
    expect(resolveBufferPath('/data/buffer', 'run00001.mid.gz')).toBe(
      '/data/buffer/run00001.mid.gz',
    );
    expect(resolveBufferPath('/data/buffer', '/data/buffer/sub/run2.mid')).toBe(
      '/data/buffer/sub/run2.mid',
    );
    for (const bad of ['../x', '/etc/passwd', '', '.', 'a/../../b', '/data/buffer2/x']) {
      expect(() => resolveBufferPath('/data/buffer', bad), bad).toThrow(
        /BAD_USER_INPUT|not inside|empty/,
      );
    }
  });
});

describe('tokens and roles', () => {
  it('finds the principal of a token by its hash, and no other', () => {
    const tokens = parseApiTokens('daq:daq-token-123456789,admin:admin-token-12345678');
    expect(principalForToken(tokens, 'daq-token-123456789')?.roles).toEqual([Role.DAQ]);
    expect(principalForToken(tokens, 'daq-token-12345678')).toBeUndefined();
    expect(principalForToken(tokens, 'daq-token-123456789')?.name).toMatch(/^token:[0-9a-f]{8}$/);
  });

  it('parses bearer headers', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });

  it('lets admins do everything and others only what is listed', () => {
    expect(hasAnyRole({ name: 'a', roles: [Role.ADMIN] }, [Role.DAQ])).toBe(true);
    expect(hasAnyRole({ name: 'r', roles: [Role.READER] }, [Role.DAQ])).toBe(false);
    expect(hasAnyRole({ name: 's', roles: [Role.SHIFTER] }, [Role.SHIFTER, Role.DAQ])).toBe(true);
  });
});

describe('UrlSigner', () => {
  const signer = new UrlSigner('s3cret', 'https://gw.example.org/');
  it('signs keys with an expiry and verifies them', () => {
    const now = Date.UTC(2026, 10, 25);
    const url = new URL(signer.sign('LNGS/run 1.mid', 60, now));
    expect(url.pathname).toBe('/objects/LNGS/run%201.mid');
    const expires = url.searchParams.get('expires')!;
    const signature = url.searchParams.get('signature')!;
    expect(signer.verify('LNGS/run 1.mid', expires, signature, now)).toBe(true);
    expect(signer.verify('LNGS/run 2.mid', expires, signature, now)).toBe(false);
    expect(signer.verify('LNGS/run 1.mid', expires, signature, now + 61_000)).toBe(false);
    expect(new UrlSigner('other', 'x').verify('LNGS/run 1.mid', expires, signature, now)).toBe(
      false,
    );
  });
});
