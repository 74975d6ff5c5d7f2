import 'reflect-metadata';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fork, type ChildProcess } from 'node:child_process';
import { WebSocketServer } from 'ws';
import { loadConfig } from '../src/config';
import { Topic } from '../src/pubsub';
import { GatewayServer } from '../src/server';
import { sharedStats } from '../src/subscriptions/sharedSubscribe';

// npm run bench:fanout — 1,000 graphql-ws subscribers on alarmEvents, 100 events/s: deliveries
// per second and publish-to-receipt p99, against a raw `ws` broadcast of pre-serialized
// messages to 1,000 sockets measured in the same run. Target: >= 0.5x the raw deliveries/s and
// p99 < 100 ms. The gateway runs twice: with shared execution (the default) and without.

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const QUERY = 'subscription { alarmEvents { type alarm { fingerprint severity message } } }';

interface Outcome {
  deliveriesPerSecond: number;
  p99: number;
  p50: number;
  received: number;
  expected: number;
}

const now = () => performance.timeOrigin + performance.now();

/** The subscribers, in a child process of their own; resolves once all have subscribed. */
async function openClients(url: string, graphqlWs: boolean): Promise<ChildProcess> {
  const child = fork(path.join(__dirname, 'support', 'fanoutClients.js'));
  child.send({ url, graphqlWs, clients: CLIENTS, query: QUERY });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`clients exited with ${code}`)));
  });
  return child;
}

function report(
  child: ChildProcess,
): Promise<{ received: number; p50: number; p99: number; lastAt: number }> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as never));
    child.send('report');
  });
}

async function drive(
  publish: (sentAt: number, i: number) => void,
  clients: ChildProcess,
): Promise<Outcome> {
  const total = RATE * SECONDS;
  const start = now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    publish(now(), i);
  }
  const expected = total * CLIENTS;
  const deadline = now() + 60_000;
  let last = await report(clients);
  while (last.received < expected && now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    last = await report(clients);
  }
  const elapsed = (last.lastAt - start) / 1000;
  return {
    deliveriesPerSecond: last.received / elapsed,
    p99: last.p99,
    p50: last.p50,
    received: last.received,
    expected,
  };
}

function alarmPayload(sentAt: number, i: number) {
  return {
    type: 'RAISED',
    alarm: { id: i, fingerprint: `bench:${i}`, severity: 'WARNING', message: String(sentAt) },
  };
}

async function rawBroadcast(): Promise<Outcome> {
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const clients = await openClients(
    `ws://127.0.0.1:${(server.address() as { port: number }).port}`,
    false,
  );
  const outcome = await drive((sentAt, i) => {
    const text = JSON.stringify({
      id: '1',
      type: 'next',
      payload: { data: { alarmEvents: alarmPayload(sentAt, i) } },
    });
    for (const client of wss.clients) client.send(text);
  }, clients);
  clients.send('close');
  wss.close();
  server.close();
  return outcome;
}

async function gateway(shared: boolean): Promise<Outcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-fanout-'));
  const config = loadConfig({
    PORT: '0',
    DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}`,
    OBJECT_STORE_URL: `file:${path.join(dir, 'objects')}`,
    TAPE_URL: 'none',
    DAQ_BUFFER_DIR: dir,
    WORKERS: '0',
    ALARM_EVAL_MS: '0',
    PIPELINE_GAUGE_MS: '0',
    LOG_LEVEL: 'silent',
    SHARED_SUBSCRIPTIONS: String(shared),
  });
  const server = await GatewayServer.start(config);
  const joinedBefore = sharedStats.joined;
  const clients = await openClients(`${server.url.replace('http', 'ws')}/graphql`, true);
  const pubsub = server.runtime.pubsub;
  // Shared subscribers hang off one pubsub listener: count them as they join their group.
  const allSubscribed = () =>
    shared
      ? sharedStats.joined - joinedBefore >= CLIENTS && pubsub.listenerCount(Topic.AlarmEvent) > 0
      : pubsub.listenerCount(Topic.AlarmEvent) >= CLIENTS;
  while (!allSubscribed()) await new Promise((r) => setTimeout(r, 20));
  const outcome = await drive(
    (sentAt, i) => pubsub.publish(Topic.AlarmEvent, alarmPayload(sentAt, i) as never),
    clients,
  );
  clients.send('close');
  await server.close();
  fs.rmSync(dir, { recursive: true, force: true });
  return outcome;
}

function show(label: string, o: Outcome): void {
  console.log(
    `${label.padEnd(28)} ${o.deliveriesPerSecond.toFixed(0).padStart(7)} deliveries/s  p50 ${o.p50.toFixed(1)} ms  p99 ${o.p99.toFixed(1)} ms  (${o.received}/${o.expected})`,
  );
}

async function main(): Promise<void> {
  console.log(`${CLIENTS} subscribers, ${RATE} events/s for ${SECONDS} s`);
  const raw = await rawBroadcast();
  show('raw ws broadcast', raw);
  const shared = await gateway(true);
  show('gateway (shared execution)', shared);
  if (process.env.BENCH_SKIP_UNSHARED !== '1') {
    const unshared = await gateway(false);
    show('gateway (one per subscriber)', unshared);
    console.log(
      `unshared/raw ${(unshared.deliveriesPerSecond / raw.deliveriesPerSecond).toFixed(2)}`,
    );
  }
  console.log(
    `ratio shared/raw ${(shared.deliveriesPerSecond / raw.deliveriesPerSecond).toFixed(2)} (target >= 0.5), p99 ${shared.p99.toFixed(1)} ms (target < 100 ms)`,
  );
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
