import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig, type Config } from '../config';
import { createDataSource } from '../db/dataSource';
import { logger, setLogLevel } from '../logger';
import { PubSub } from '../pubsub';
import { Runtime } from '../runtime';
import { buildGatewaySchema, renderSchema } from '../schema/buildSchema';
import { GatewayServer } from '../server';
import { simulateDaq } from './simulate';
import { recoCommand } from './reco';
import { retentionCommand } from './retention';
import { midasBridgeCommand } from './midasBridge';
import { subscribe } from './subscribe';
import { tokenCommand } from './token';
import { discordBotCommand } from './discordBot';
import { batchRunCommand } from './batchRun';

const USAGE = `usage: cygno-gateway <command>

commands:
  serve            run the GraphQL gateway (and WORKERS in-process job workers)
  worker [N]       run N job workers without the API (default: WORKERS, at least 1)
  migrate          apply pending database migrations and exit
  schema [--check] write schema.graphql (or, with --check, fail when it is stale)
  simulate-daq     write synthetic CYGNO runs into DAQ_BUFFER_DIR and start/close them
                   (--runs N --events K --size W [--rate HZ] [--gzip]; --help for more)
  reco FILE        reconstruct a MIDAS run file offline (--pedestal FILE [--out FILE.arrow]
                   [--threads N]; --help for more)
  retention        free buffer and cloud copies that have verified replicas elsewhere
                   (RETENTION_BUFFER, RETENTION_CLOUD_DAYS, RETENTION_CLOUD_RAW;
                   --dry-run lists what and why)
  discord-bot      forward the gateway's alarm events to a Discord webhook (--help for more)
  token ACTION     create, list or revoke API tokens kept in the database (--help for more)
  subscribe QUERY  print each event of a GraphQL subscription as a JSON line
  batch-run --job ID
                   run one job on a batch node, over HTTPS only (GATEWAY_URL and the
                   job-scoped CYGNO_JOB_TOKEN the gateway gives the batch system)
  midas-bridge     MIDAS alarms and ODB variables into gateway alarms and metrics
                   (GATEWAY_URL, default http://127.0.0.1:4000; GATEWAY_TOKEN)

Configuration comes from the environment (PORT, HOST, DATABASE_URL, REDIS_URL, OBJECT_STORE_URL,
DAQ_BUFFER_DIR, API_TOKENS …); see README.md.`;

/** The configuration, read once, with its log level applied. */
function readConfig(): Config {
  const config = loadConfig();
  setLogLevel(config.logLevel);
  return config;
}

/** Entry point of the `cygno-gateway` command. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  let config: Config | undefined;
  const configured = (): Config => (config = readConfig());
  try {
    switch (command) {
      case 'serve':
        return await serve(configured());
      case 'worker':
        return await worker(configured(), args[0]);
      case 'migrate':
        return await migrate(configured());
      case 'schema':
        return await schema(args.includes('--check'));
      case 'simulate-daq':
        return await simulateDaq(configured(), args);
      case 'subscribe':
        return await subscribe(args);
      case 'midas-bridge':
        return await midasBridgeCommand(args);
      case 'reco':
        return await recoCommand(configured(), args);
      case 'retention':
        return await retentionCommand(configured(), args);
      case 'discord-bot':
        return await discordBotCommand(args);
      case 'batch-run':
        return await batchRunCommand(args);
      case 'token':
        return await tokenCommand(configured(), args);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(`${USAGE}\n`);
        return;
      default:
        process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
        process.exitCode = 2;
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cygno-gateway: ${error.message}\n`);
    } else {
      // The message is for the user; the stack only when asked for (LOG_LEVEL=debug).
      const detail =
        config?.logLevel === 'debug' ? (error as Error).stack : (error as Error).message;
      process.stderr.write(`cygno-gateway: ${detail ?? error}\n`);
    }
    process.exit(1);
  }
}

async function serve(config: Config): Promise<void> {
  const server = await GatewayServer.start(config);
  process.stdout.write(
    `cygno-gateway listening on ${server.url}/graphql (subscriptions: ws://${server.url.slice(7)}/graphql)\n`,
  );
  stopOnSignal(() => server.close());
}

async function worker(config: Config, count?: string): Promise<void> {
  const concurrency = count === undefined ? Math.max(1, config.workers) : Number(count);
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
    throw new ConfigError([`worker: expected a number of workers from 1 to 64, got "${count}"`]);
  }
  const runtime = await Runtime.open(config);
  await runtime.startWorkers(concurrency);
  process.stdout.write(`cygno-gateway worker running ${concurrency} job loop(s)\n`);
  stopOnSignal(() => runtime.close());
}

async function migrate(config: Config): Promise<void> {
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

async function schema(check: boolean): Promise<void> {
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
