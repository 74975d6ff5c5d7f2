/**
 * A query or mutation against a gateway over HTTP, as the command-line clients (the DAQ
 * simulator, the Discord bot) send them; returns `data`, throws on any GraphQL error.
 */
export async function gatewayRequest<T = Record<string, unknown>>(
  url: string,
  token: string | undefined,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors?.length)
    throw new Error(`gateway: ${body.errors.map((e) => e.message).join('; ')}`);
  return body.data!;
}
