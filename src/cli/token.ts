import { parseArgs } from 'node:util';
import { isRole, type Role } from '../auth/roles';
import type { Config } from '../config';
import { Runtime } from '../runtime';

const USAGE = `usage: cygno-gateway token <create|list|revoke>

  create --name NAME --roles ROLE[,ROLE] [--expires ISO-DATE]
                   prints the new token's secret once (the database keeps only its hash)
  list [--all]     tokens with roles, expiry and fingerprint (--all: revoked ones too)
  revoke ID        the token stops working at once on this replica, within 10 s on others

Roles: reader, shifter, daq, admin. With AUTH_REQUIRED=true and neither API_TOKENS nor
OIDC_ISSUER, this is how the first admin token is made.`;

/** `cygno-gateway token …`: API tokens kept in the database, from the machine's shell. */
export async function tokenCommand(config: Config, argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      name: { type: 'string' },
      roles: { type: 'string' },
      expires: { type: 'string' },
      all: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || !['create', 'list', 'revoke'].includes(action ?? '')) {
    process.stdout.write(`${USAGE}\n`);
    if (!values.help) process.exitCode = 2;
    return;
  }
  const runtime = await Runtime.open(config);
  try {
    const tokens = runtime.services.apiTokens;
    if (action === 'create') {
      const roles = (values.roles ?? '').split(',').map((r) => r.trim());
      const unknown = roles.filter((r) => !isRole(r));
      if (!values.name || unknown.length > 0 || roles.length === 0)
        throw new Error(
          `token create needs --name and --roles from reader, shifter, daq, admin${unknown.length ? ` (unknown: ${unknown.join(', ')})` : ''}`,
        );
      const expiresAt = values.expires ? new Date(values.expires) : null;
      if (expiresAt && Number.isNaN(expiresAt.getTime()))
        throw new Error(`--expires: "${values.expires}" is not a date`);
      const { secret, token } = await tokens.create(
        { name: values.name, roles: roles as Role[], expiresAt },
        `cli@${process.env.USER ?? 'unknown'}`,
      );
      process.stderr.write(
        `created token ${token.id} "${token.name}" (${token.roles.join(', ')}), fingerprint ${token.fingerprint}; its secret, shown only now:\n`,
      );
      process.stdout.write(`${secret}\n`);
    } else if (action === 'list') {
      for (const t of await tokens.list(Boolean(values.all)))
        process.stdout.write(
          `${String(t.id).padStart(4)}  ${t.fingerprint}  ${t.name.padEnd(24)} ${t.roles.join(',').padEnd(20)} ${t.revokedAt ? `revoked ${t.revokedAt.toISOString()}` : t.expiresAt ? `expires ${t.expiresAt.toISOString()}` : 'no expiry'}\n`,
        );
    } else {
      const id = Number(positionals[0]);
      if (!Number.isSafeInteger(id) || id <= 0) throw new Error('token revoke needs a token id');
      const token = await tokens.revoke(id);
      process.stdout.write(`revoked token ${token.id} "${token.name}"\n`);
    }
  } finally {
    await runtime.close();
  }
}
