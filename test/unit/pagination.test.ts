import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageSize } from '../../src/services/pagination';

describe('cursors', () => {
  it('round-trip the sort value and id', () => {
    expect(decodeCursor(encodeCursor(1234, 7))).toEqual([1234, 7]);
    expect(decodeCursor(encodeCursor('2026-11-24T18:00:00.000Z', 8))).toEqual([
      '2026-11-24T18:00:00.000Z',
      8,
    ]);
    expect(decodeCursor(encodeCursor(null, 9))).toEqual([null, 9]);
  });

  it('reject anything this API did not produce (BAD_USER_INPUT)', () => {
    for (const bad of [
      'garbage',
      '',
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('[1,{}]').toString('base64url'),
    ]) {
      expect(() => decodeCursor(bad)).toThrow(
        expect.objectContaining({
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }),
        }),
      );
    }
  });
});

describe('pageSize', () => {
  it('defaults to 50 and enforces the cap', () => {
    expect(pageSize(undefined, 500)).toBe(50);
    expect(pageSize(null, 20)).toBe(20);
    expect(pageSize(500, 500)).toBe(500);
    expect(pageSize(0, 500)).toBe(0);
    expect(() => pageSize(501, 500)).toThrow(/first: must be between 0 and 500/);
    expect(() => pageSize(-1, 500)).toThrow(/first/);
  });
});
