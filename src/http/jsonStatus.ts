import type { ApolloServerPlugin } from '@apollo/server';

const JSON_TYPE = 'application/json';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json';

/** Request errors the GraphQL-over-HTTP spec answers with 200 when the response is plain JSON. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT', // variable coercion
]);

interface AcceptEntry {
  type: string;
  subtype: string;
  q: number;
  order: number;
}

function parseAccept(header: string): AcceptEntry[] {
  return header.split(',').flatMap((part, order) => {
    const [range, ...params] = part.trim().toLowerCase().split(';');
    const [type, subtype] = range.trim().split('/');
    if (!type || !subtype) return [];
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    return Number.isFinite(q) ? [{ type, subtype, q, order }] : [];
  });
}

/**
 * The media type a response to this Accept header is sent as, chosen as Apollo chooses it
 * (highest q, then the most specific range, then the order in the header, then JSON first);
 * JSON when there is no header, null when neither is acceptable.
 */
export function responseMediaType(accept: string | null | undefined): string | null {
  if (!accept) return JSON_TYPE;
  const entries = parseAccept(accept);
  let best: { type: string; rank: number[] } | null = null;
  for (const [index, candidate] of [JSON_TYPE, GRAPHQL_RESPONSE_TYPE].entries()) {
    const [type, subtype] = candidate.split('/');
    const matches = entries
      .map((e) => ({
        e,
        specificity:
          (e.type === type ? 2 : e.type === '*' ? 0 : -9) +
          (e.subtype === subtype ? 1 : e.subtype === '*' ? 0 : -9),
      }))
      .filter(({ specificity }) => specificity >= 0)
      .sort((x, y) => y.specificity - x.specificity);
    const match = matches[0];
    if (!match || match.e.q <= 0) continue;
    const rank = [match.e.q, match.specificity, -match.e.order, -index];
    if (!best || compareRanks(rank, best.rank) > 0) best = { type: candidate, rank };
  }
  return best?.type ?? null;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/**
 * GraphQL over HTTP: a client that accepts only `application/json` (a legacy client) gets 200
 * for a document that does not parse, does not validate, or whose variables do not coerce — the
 * errors are in the body, as the spec's SHOULD asks. `application/graphql-response+json` keeps
 * the 4xx that tells such failures apart. Other statuses (401, 403, 429 …) are left as they are.
 */
export function plainJsonStatusPlugin<T extends object>(): ApolloServerPlugin<T> {
  return {
    async requestDidStart({ request }) {
      return {
        async willSendResponse({ response, errors }) {
          if (response.http.status !== 400 || !errors?.length) return;
          if (responseMediaType(request.http?.headers.get('accept')) !== JSON_TYPE) return;
          if (errors.every((e) => REQUEST_ERROR_CODES.has(String(e.extensions?.code))))
            response.http.status = 200;
        },
      };
    },
  };
}
