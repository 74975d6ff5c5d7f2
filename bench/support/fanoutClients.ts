import { WebSocket } from 'ws';

// A child process of bench/fanout.ts holding the subscribers, so that they do not share a core
// with the server they measure. Parent → { url, graphqlWs, clients, query }; child → 'ready',
// then on 'report' → { latencies summary }.

const now = () => performance.timeOrigin + performance.now();

interface Start {
  url: string;
  graphqlWs: boolean;
  clients: number;
  query: string;
}

const latencies: number[] = [];
const sockets: WebSocket[] = [];
let subscribed = 0;

async function open(start: Start): Promise<void> {
  for (let i = 0; i < start.clients; i++) {
    const socket = new WebSocket(start.url, start.graphqlWs ? 'graphql-transport-ws' : undefined);
    sockets.push(socket);
    socket.on('message', (data) => {
      const message = JSON.parse(String(data));
      if (message.type === 'connection_ack') {
        socket.send(
          JSON.stringify({ id: '1', type: 'subscribe', payload: { query: start.query } }),
        );
        subscribed++;
      } else if (message.type === 'next') {
        latencies.push(now() - Number(message.payload.data.alarmEvents.alarm.message));
      }
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    if (start.graphqlWs) socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
    else subscribed++;
  }
  while (subscribed < start.clients) await new Promise((r) => setTimeout(r, 10));
  process.send!('ready');
}

process.on('message', (message: Start | 'report' | 'close') => {
  if (message === 'report') {
    const sorted = latencies.slice().sort((a, b) => a - b);
    const at = (p: number) =>
      sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
    process.send!({ received: latencies.length, p50: at(50), p99: at(99), lastAt: now() });
  } else if (message === 'close') {
    for (const s of sockets) s.terminate();
    process.exit(0);
  } else {
    open(message).catch((error) => {
      console.error(error);
      process.exit(1);
    });
  }
});
