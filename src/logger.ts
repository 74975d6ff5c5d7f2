import pino, { type Logger } from 'pino';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
const envLevel = process.env.LOG_LEVEL ?? '';

// The level is taken from LOG_LEVEL at import (config.ts validates the same variable), so that
// module loggers created at import time already have the right level.
const root: Logger = pino({
  level: LEVELS.includes(envLevel) ? envLevel : 'info',
  base: { app: 'cygno-gateway' },
});

/** A child logger named after the module, e.g. logger('jobs'). */
export function logger(module: string): Logger {
  return root.child({ module });
}
