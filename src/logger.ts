import pino, { type Logger } from 'pino';

// The level comes from the configuration (LOG_LEVEL, validated in config), applied once it is
// read: `setLogLevel`. Module loggers are created at import, before that, so the level is
// applied to every child made so far as well as to the root the later ones inherit it from.
const root: Logger = pino({ level: 'info', base: { app: 'cygno-gateway' } });
const children = new Set<WeakRef<Logger>>();

/** A child logger named after the module, e.g. logger('jobs'). */
export function logger(module: string): Logger {
  const child = root.child({ module });
  children.add(new WeakRef(child));
  return child;
}

/** Sets the level of every logger, those already made included. */
export function setLogLevel(level: string): void {
  root.level = level;
  for (const ref of children) {
    const child = ref.deref();
    if (child) child.level = level;
    else children.delete(ref);
  }
}
