import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, type Config } from '../config';
import { createDataSource } from '../db/dataSource';
import { logger } from '../logger';
import { PubSub } from '../pubsub';
import { Runtime } from '../runtime';
import { buildGatewaySchema, renderSchema } from '../schema/buildSchema';
import { GatewayServer } from '../server';

// The commands that load the whole gateway (API, database, workers): serve, worker, migrate,
// schema. Kept apart so that the light commands (batch-run above all) start without them.

export async function serve(config: Config): Promise<void> {
  const server = await GatewayServer.start(config);
  process.stdout.write(
    `cygno-gateway listening on ${server.url}/graphql (subscriptions: ws://${server.url.slice(7)}/graphql)\n`,
  );
  stopOnSignal(() => server.close());
}

export async function worker(config: Config, count?: string): Promise<void> {
  const concurrency = count === undefined ? Math.max(1, config.workers) : Number(count);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ConfigError([`worker: expected a number of workers from 1 to 64, got "${count}"`]);
  }
  const runtime = await Runtime.open(config);
  await runtime.startWorkers(concurrency);
  process.stdout.write(`cygno-gateway worker running ${concurrency} job loop(s)\n`);
  stopOnSignal(() => runtime.close());
}

export async function migrate(config: Config): Promise<void> {
  const dataSource = createDataSource(config.databaseUrl);
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    process.stdout.write(
      applied.length === 0
        ? 'database is up to date\n'
        : `applied: ${applied.map((m) => m.name).join(', ')}\n`,
    );
  } finally {
    await dataSource.destroy();
  }
}

export async function schema(check: boolean): Promise<void> {
  const file = path.resolve(__dirname, '..', '..', '..', 'schema.graphql');
  const pubsub = PubSub.inProcess();
  const sdl = renderSchema(await buildGatewaySchema(pubsub));
  await pubsub.close();
  if (!check) {
    fs.writeFileSync(file, sdl);
    process.stdout.write(`wrote ${file}\n`);
    return;
  }
  const committed = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (committed !== sdl) {
    process.stderr.write('schema.graphql is stale: run `npm run schema`\n');
    process.exitCode = 1;
  }
}

/** SIGINT/SIGTERM: finish running jobs (or give them back), close connections, exit. */
function stopOnSignal(stop: () => Promise<void>): void {
  const log = logger('cli');
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    stop().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
}
