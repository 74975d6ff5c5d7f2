import { Kind } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DateTimeScalar } from '../../src/schema/scalars';

describe('DateTime scalar', () => {
  it('outputs RFC 3339 UTC with milliseconds', () => {
    expect(DateTimeScalar.serialize(new Date(Date.UTC(2026, 10, 24, 18)))).toBe(
      '2026-11-24T18:00:00.000Z',
    );
    expect(DateTimeScalar.serialize('2026-11-24T19:00:00+01:00')).toBe('2026-11-24T18:00:00.000Z');
  });

  it('accepts RFC 3339 with offsets and fractions, and epoch ms as number or digits', () => {
    const expected = Date.UTC(2026, 10, 24, 18);
    expect(DateTimeScalar.parseValue('2026-11-24T18:00:00Z').getTime()).toBe(expected);
    expect(DateTimeScalar.parseValue('2026-11-24T19:00:00.000+01:00').getTime()).toBe(expected);
    expect(DateTimeScalar.parseValue(expected).getTime()).toBe(expected);
    expect(DateTimeScalar.parseValue(String(expected)).getTime()).toBe(expected);
    expect(
      DateTimeScalar.parseLiteral({ kind: Kind.INT, value: String(expected) }, {}).getTime(),
    ).toBe(expected);
    expect(
      DateTimeScalar.parseLiteral(
        { kind: Kind.STRING, value: '2026-11-24T18:00:00Z' },
        {},
      ).getTime(),
    ).toBe(expected);
  });

  it('rejects what is not a time', () => {
    for (const bad of [
      '2026-11-24',
      '2026-11-24T18:00:00',
      'yesterday',
      '2026-13-45T99:00:00Z',
      true,
      {},
      Number.NaN,
      Infinity,
    ]) {
      expect(() => DateTimeScalar.parseValue(bad), String(bad)).toThrow(/DateTime/);
    }
    expect(() => DateTimeScalar.parseLiteral({ kind: Kind.BOOLEAN, value: true }, {})).toThrow(
      /DateTime/,
    );
  });
});
