import type http from 'node:http';
import { CloseCode, makeServer, handleProtocols, type ServerOptions } from 'graphql-ws';
import type { WebSocket, WebSocketServer } from 'ws';
import { logger } from '../logger';

const log = logger('subscriptions');

/** Above this many bytes queued on a socket, a subscriber waits for the kernel to take them. */
const HIGH_WATER_BYTES = 1 << 20;

export interface WsExtra {
  socket: WebSocket;
  request: http.IncomingMessage;
}

/**
 * graphql-ws on a `ws` server. graphql-ws's own adapter wraps every message in a promise that
 * waits for the write callback; with a thousand subscribers that is a thousand promises and
 * callbacks per event. Here a message is handed to the socket at once while the socket keeps
 * up, and a subscriber waits for the write only once its socket has fallen a megabyte behind,
 * so a slow client still pushes back on its own queue and never on the others.
 */
export function serveGraphqlWs<P extends Record<string, unknown>, E extends object>(
  options: ServerOptions<P, E & WsExtra>,
  wsServer: WebSocketServer,
  keepAliveMs = 12_000,
): { dispose(): Promise<void> } {
  const server = makeServer(options);
  wsServer.options.handleProtocols = handleProtocols;

  wsServer.on('connection', (socket, request) => {
    socket.once('error', (error) => {
      log.warn({ err: error }, 'subscription socket failed');
      socket.close(CloseCode.InternalServerError, 'Internal server error');
    });
    const keepAlive = startKeepAlive(socket, keepAliveMs);
    const closed = server.opened(
      {
        protocol: socket.protocol,
        send: (data) => sendWithBackpressure(socket, data),
        close: (code, reason) => socket.close(code, reason),
        onMessage: (handle) =>
          socket.on('message', async (data) => {
            try {
              await handle(String(data));
            } catch (error) {
              log.error({ err: error }, 'subscription message failed');
              socket.close(CloseCode.InternalServerError, 'Internal server error');
            }
          }),
      },
      // The rest of E (the principal) is filled in by onConnect.
      { socket, request } as E & WsExtra,
    );
    socket.once('close', (code, reason) => {
      keepAlive();
      void closed(code, String(reason));
    });
  });

  return {
    async dispose() {
      for (const client of wsServer.clients) client.close(1001, 'Going away');
      wsServer.removeAllListeners('connection');
      await new Promise<void>((resolve, reject) =>
        wsServer.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
}

/** Sockets holding their writes until the current turn of the event loop ends. */
const corked = new Set<{ cork(): void; uncork(): void }>();

function uncorkAll(): void {
  for (const tcp of corked) tcp.uncork();
  corked.clear();
}

/**
 * Holds a socket's writes until this turn of the event loop ends, so that the messages it gets
 * in one turn leave in one system call. Idle, a socket gets one message a turn and nothing
 * changes; when subscribers fall behind, their queued results go out together, which is what
 * lets a saturated gateway catch up (one write per message is most of the cost of a delivery).
 */
function corkForThisTurn(socket: WebSocket): void {
  // ws keeps the TCP socket in `_socket`; cork() nests with ws's own cork per frame.
  const tcp = (socket as unknown as { _socket?: { cork(): void; uncork(): void } })._socket;
  if (!tcp || corked.has(tcp)) return;
  tcp.cork();
  corked.add(tcp);
  if (corked.size === 1) setImmediate(uncorkAll);
}

/** Most bytes a socket may have queued before direct deliveries to it are dropped. */
const DIRECT_LIMIT_BYTES = 8 << 20;

/** Events not sent to a subscriber that stopped reading (for tests and logs). */
export const deliveryStats = { dropped: 0 };

/**
 * A subscription's direct line to its socket: `{"id":…,"type":"next","payload":…}` built around
 * a payload serialized once for every subscriber. A socket this far behind (a client that stopped
 * reading) loses the message rather than the gateway its memory; graphql-ws's keep-alive ends it.
 */
export function directDelivery(
  socket: WebSocket,
  subscriptionId: string,
): { sendNext(payloadJson: string): void } {
  const head = `{"id":${JSON.stringify(subscriptionId)},"type":"next","payload":`;
  return {
    sendNext(payloadJson) {
      if (socket.readyState !== socket.OPEN) return;
      if (socket.bufferedAmount > DIRECT_LIMIT_BYTES) {
        if (deliveryStats.dropped++ % 1000 === 0)
          log.warn({ subscriptionId }, 'a subscriber is 8 MB behind: events dropped for it');
        return;
      }
      corkForThisTurn(socket);
      socket.send(`${head}${payloadJson}}`);
    },
  };
}

function sendWithBackpressure(socket: WebSocket, data: string): Promise<void> | void {
  if (socket.readyState !== socket.OPEN) return;
  corkForThisTurn(socket);
  if (socket.bufferedAmount < HIGH_WATER_BYTES) {
    socket.send(data);
    return;
  }
  return new Promise<void>((resolve) =>
    // A failed write closes the socket, and its close ends the subscriptions: nothing to throw.
    socket.send(data, () => resolve()),
  );
}

/** Pings every interval; a socket that does not answer within the next one is terminated. */
function startKeepAlive(socket: WebSocket, intervalMs: number): () => void {
  if (!(intervalMs > 0)) return () => {};
  let alive = true;
  socket.on('pong', () => (alive = true));
  const timer = setInterval(() => {
    if (!alive) return socket.terminate();
    alive = false;
    socket.ping();
  }, intervalMs);
  return () => clearInterval(timer);
}
