import { parseArgs } from 'node:util';
import type { Config } from '../config';
import { Runtime } from '../runtime';
import type { RetentionCandidate } from '../services/RetentionService';

const USAGE = `usage: cygno-gateway retention [--dry-run]

Frees buffer files and cloud copies as RETENTION_BUFFER (off | after-cloud | after-tape),
RETENTION_CLOUD_DAYS (0: never) and RETENTION_CLOUD_RAW (keep | when-reduced: a raw file's
cloud copy once its run's reduced file is stored and its tape copy verified) allow — only where
a verified replica remains — and records every deletion with its reason on the file.
--dry-run lists what would be freed and why.`;

function line(c: RetentionCandidate, verb: string): string {
  const size = c.sizeBytes == null ? '' : ` ${(c.sizeBytes / 1e6).toFixed(1)} MB`;
  return `${verb} ${c.location.padEnd(6)} ${c.name} (run ${c.runNumber}${size}): ${c.reason}`;
}

/** `cygno-gateway retention [--dry-run]` (run it from cron). */
export async function retentionCommand(config: Config, argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { 'dry-run': { type: 'boolean' }, help: { type: 'boolean' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (
    config.retentionBuffer === 'off' &&
    config.retentionCloudDays === 0 &&
    config.retentionCloudRaw === 'keep'
  ) {
    process.stdout.write(
      'retention is off (RETENTION_BUFFER=off, RETENTION_CLOUD_DAYS=0, RETENTION_CLOUD_RAW=keep): nothing to do\n',
    );
    return;
  }
  const runtime = await Runtime.open(config);
  try {
    const retention = runtime.services.retention;
    const listed = values['dry-run']
      ? await retention.plan()
      : await retention.apply(`retention@${process.env.USER ?? 'cli'}`);
    for (const c of listed)
      process.stdout.write(`${line(c, values['dry-run'] ? 'would free' : 'freed')}\n`);
    const noun = listed.length === 1 ? 'copy' : 'copies';
    process.stdout.write(
      `${listed.length} ${noun} ${values['dry-run'] ? 'would be freed' : 'freed'}\n`,
    );
  } finally {
    await runtime.close();
  }
}
