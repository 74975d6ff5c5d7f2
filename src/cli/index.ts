import 'reflect-metadata';
import { ConfigError, loadConfig, type Config } from '../config';
import { setLogLevel } from '../logger';

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

type Command = (args: string[], configured: () => Config) => Promise<void>;

/**
 * Each command's module is loaded when the command runs: `batch-run` on a batch node starts in
 * about 0.3 s instead of the 2 s that loading the whole gateway (API, ORM, schema) takes.
 */
const COMMANDS: Record<string, Command> = {
  serve: async (_args, configured) => (await import('./serverCommands.js')).serve(configured()),
  worker: async (args, configured) =>
    (await import('./serverCommands.js')).worker(configured(), args[0]),
  migrate: async (_args, configured) => (await import('./serverCommands.js')).migrate(configured()),
  schema: async (args) => (await import('./serverCommands.js')).schema(args.includes('--check')),
  'simulate-daq': async (args, configured) =>
    (await import('./simulate.js')).simulateDaq(configured(), args),
  subscribe: async (args) => (await import('./subscribe.js')).subscribe(args),
  'midas-bridge': async (args) => (await import('./midasBridge.js')).midasBridgeCommand(args),
  reco: async (args, configured) => (await import('./reco.js')).recoCommand(configured(), args),
  retention: async (args, configured) =>
    (await import('./retention.js')).retentionCommand(configured(), args),
  'discord-bot': async (args) => (await import('./discordBot.js')).discordBotCommand(args),
  'batch-run': async (args) => (await import('./batchRun.js')).batchRunCommand(args),
  token: async (args, configured) => (await import('./token.js')).tokenCommand(configured(), args),
};

/** Entry point of the `cygno-gateway` command. */
export async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  let config: Config | undefined;
  const configured = (): Config => (config = readConfig());
  try {
    const run = command && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
    if (run) return await run(args, configured);
    switch (command) {
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
