// A small client for the gateway: GraphQL over HTTP for queries and mutations, and the
// graphql-transport-ws protocol for subscriptions, reconnecting with backoff and resubscribing.

export class Gateway {
  constructor({ token, onLinkChange }) {
    this.token = token;
    this.onLinkChange = onLinkChange ?? (() => {});
    this.subscriptions = new Map();
    this.nextId = 1;
    this.backoffMs = 500;
    this.connect();
  }

  headers() {
    return {
      'content-type': 'application/json',
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
    };
  }

  async request(query, variables = {}) {
    const res = await fetch('/graphql', {
      method: 'POST',
      headers: this.headers(),
      body: JSON.stringify({ query, variables }),
    });
    const body = await res.json();
    if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join('; '));
    return body.data;
  }

  connect() {
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`;
    const socket = new WebSocket(url, 'graphql-transport-ws');
    this.socket = socket;
    this.ready = false;
    socket.onopen = () =>
      socket.send(
        JSON.stringify({
          type: 'connection_init',
          payload: this.token ? { authorization: `Bearer ${this.token}` } : {},
        }),
      );
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === 'connection_ack') {
        this.ready = true;
        this.backoffMs = 500;
        this.onLinkChange('live');
        for (const [id, sub] of this.subscriptions) this.sendSubscribe(id, sub);
      } else if (data.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong' }));
      } else if (data.type === 'next') {
        this.subscriptions.get(data.id)?.onNext(data.payload.data);
      } else if (data.type === 'error') {
        this.subscriptions.get(data.id)?.onError?.(data.payload);
      }
    };
    socket.onclose = (event) => {
      if (this.closed) return;
      this.ready = false;
      // 4401/4403: the token is wrong or expired; retrying will not help until it changes.
      if (event.code === 4401 || event.code === 4403) {
        this.onLinkChange('unauthorised', event.reason);
        return;
      }
      this.onLinkChange('reconnecting');
      setTimeout(() => this.connect(), this.backoffMs);
      this.backoffMs = Math.min(this.backoffMs * 2, 15_000);
    };
  }

  sendSubscribe(id, { query, variables }) {
    this.socket.send(JSON.stringify({ id, type: 'subscribe', payload: { query, variables } }));
  }

  subscribe(query, variables, onNext, onError) {
    const id = String(this.nextId++);
    const sub = { query, variables, onNext, onError };
    this.subscriptions.set(id, sub);
    if (this.ready) this.sendSubscribe(id, sub);
    return () => {
      this.subscriptions.delete(id);
      if (this.ready) this.socket.send(JSON.stringify({ id, type: 'complete' }));
    };
  }

  close() {
    this.closed = true;
    this.socket.close();
  }
}
