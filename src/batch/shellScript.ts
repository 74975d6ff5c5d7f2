/** Quotes a word for /bin/sh: single quotes, with each ' written as '\''. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The batch script of an attempt: the environment set inside it (never on a command line,
 * where `ps` would show the token), then the command exec'd so that a cancel's signal reaches
 * it and no child is left behind.
 */
export function batchScript(
  command: readonly string[],
  environment: Readonly<Record<string, string>> = {},
): string {
  const exports = Object.entries(environment).map(
    ([name, value]) => `export ${name}=${shellQuote(value)}`,
  );
  return ['#!/bin/sh', ...exports, `exec ${command.map(shellQuote).join(' ')}`, ''].join('\n');
}
