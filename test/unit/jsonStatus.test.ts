import { describe, expect, it } from 'vitest';
import { responseMediaType } from '../../src/http/jsonStatus';

const JSON_TYPE = 'application/json';
const GQL = 'application/graphql-response+json';

describe('responseMediaType (as Apollo negotiates it)', () => {
  it('is JSON without an Accept header, and for legacy clients', () => {
    expect(responseMediaType(undefined)).toBe(JSON_TYPE);
    expect(responseMediaType('application/json')).toBe(JSON_TYPE);
    expect(responseMediaType('*/*')).toBe(JSON_TYPE);
    expect(responseMediaType('application/*')).toBe(JSON_TYPE);
  });

  it('follows q values, then specificity, then the order of the header', () => {
    expect(responseMediaType(GQL)).toBe(GQL);
    expect(responseMediaType(`${GQL}, application/json;q=0.9`)).toBe(GQL);
    expect(responseMediaType(`application/json;q=0.5, ${GQL}`)).toBe(GQL);
    expect(responseMediaType(`${GQL}, application/json`)).toBe(GQL);
    expect(responseMediaType(`application/json, ${GQL}`)).toBe(JSON_TYPE);
    expect(responseMediaType(`*/*, ${GQL}`)).toBe(GQL);
  });

  it('is null when neither is acceptable', () => {
    expect(responseMediaType('text/html')).toBeNull();
    expect(responseMediaType('application/json;q=0')).toBeNull();
  });
});
