import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createConnection, type Connection } from 'mysql2/promise';
import { debianBinary } from './debianBinary';
import { freePort } from './ports';
import { waitFor } from './wait';

const USER = 'cygno';
const PASSWORD = 'cygno-replication-test';
const DATABASE = 'cygno';

/** One private mariadbd: its own data directory, port and socket. */
export interface PrivateMariadb {
  port: number;
  /** DATABASE_URL of the gateway's user on it. */
  url: string;
  /** Runs SQL as root (over the socket). */
  sql<T = any>(statement: string, values?: unknown[]): Promise<T>;
}

/** A GTID-replicated pair of private MariaDB servers, started for one test file. */
export interface ReplicationPair {
  primary: PrivateMariadb;
  replica: PrivateMariadb;
  /** Waits until the replica has applied everything the primary has written so far. */
  caughtUp(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts two `mariadbd` processes from Debian's mariadb-server — a primary with a ROW binlog and
 * a `--read-only` replica following it by GTID (MASTER_USE_GTID=slave_pos) — and the gateway's
 * user on both (created on the primary, replicated like everything else; on the replica it is
 * an ordinary user, so read_only binds it). Both start in a few seconds; stop() kills them by PID.
 */
export async function startReplicationPair(): Promise<ReplicationPair> {
  const installDb = debianBinary('mariadb-install-db', 'mariadb-server');
  const mariadbd = debianBinary('mariadbd', 'mariadb-server');
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-repl-'));
  const children: ChildProcess[] = [];
  const connections: Connection[] = [];

  async function start(name: string, serverId: number, flags: string[]): Promise<PrivateMariadb> {
    const dir = path.join(root, name);
    const datadir = path.join(dir, 'data');
    fs.mkdirSync(datadir, { recursive: true });
    const install = spawnSync(
      installDb,
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        '--user=root',
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
      ],
      { encoding: 'utf8' },
    );
    if (install.status !== 0)
      throw new Error(`mariadb-install-db failed for the ${name}: ${install.stderr}`);
    const port = await freePort();
    const socket = path.join(dir, 'mariadbd.sock');
    const log = fs.openSync(path.join(dir, 'mariadbd.log'), 'a');
    const child = spawn(
      mariadbd,
      [
        '--no-defaults',
        `--datadir=${datadir}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${socket}`,
        `--pid-file=${path.join(dir, 'mariadbd.pid')}`,
        '--user=root',
        `--server-id=${serverId}`,
        '--innodb-buffer-pool-size=64M',
        '--skip-name-resolve',
        ...flags,
      ],
      { stdio: ['ignore', log, log] },
    );
    children.push(child);
    const connection = await waitFor(
      async () => {
        if (child.exitCode !== null)
          throw new Error(
            `mariadbd (${name}) exited: ${fs.readFileSync(path.join(dir, 'mariadbd.log'), 'utf8').slice(-2000)}`,
          );
        return createConnection({ socketPath: socket, user: 'root' }).catch(() => undefined);
      },
      `the ${name} mariadbd to accept connections`,
      30_000,
      100,
    );
    connections.push(connection);
    return {
      port,
      url: `mariadb://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`,
      async sql<T>(statement: string, values?: unknown[]) {
        const [rows] = await connection.query(statement, values);
        return rows as T;
      },
    };
  }

  try {
    const [primary, replica] = await Promise.all([
      start('primary', 1, ['--log-bin=primary-bin', '--binlog-format=ROW']),
      start('replica', 2, ['--read-only', '--relay-log=replica-relay']),
    ]);
    for (const statement of [
      `CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl-password'`,
      `GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1'`,
      `CREATE USER '${USER}'@'127.0.0.1' IDENTIFIED BY '${PASSWORD}'`,
      `CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4`,
      `GRANT ALL ON ${DATABASE}.* TO '${USER}'@'127.0.0.1'`,
      // A replica gateway reads its replication threads' state (SHOW SLAVE STATUS).
      `GRANT SLAVE MONITOR ON *.* TO '${USER}'@'127.0.0.1'`,
    ])
      await primary.sql(statement);
    await replica.sql(
      `CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${primary.port},
         MASTER_USER='repl', MASTER_PASSWORD='repl-password', MASTER_USE_GTID=slave_pos,
         MASTER_CONNECT_RETRY=1`,
    );
    await replica.sql('START SLAVE');
    const pair: ReplicationPair = {
      primary,
      replica,
      async caughtUp(timeoutMs = 20_000) {
        const [{ pos }] = await primary.sql<Array<{ pos: string }>>(
          'SELECT @@global.gtid_binlog_pos AS pos',
        );
        await waitFor(
          async () => {
            const [{ done }] = await replica.sql<Array<{ done: number }>>(
              'SELECT MASTER_GTID_WAIT(?, 0.5) AS done',
              [pos],
            );
            return Number(done) === 0;
          },
          'the replica to catch up',
          timeoutMs,
          0,
        );
      },
      async stop() {
        await Promise.allSettled(connections.map((c) => c.end()));
        await Promise.all(children.map(stopChild));
        fs.rmSync(root, { recursive: true, force: true });
      },
    };
    await pair.caughtUp();
    return pair;
  } catch (error) {
    await Promise.allSettled(connections.map((c) => c.end()));
    await Promise.all(children.map(stopChild));
    fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
