import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { debianBinary } from './debianBinary';
import { freePort } from './ports';
import { waitFor } from './wait';

/**
 * A real S3 server for the tests: Debian's Ceph 16 as a one-host cluster (one monitor, one OSD
 * on a sparse file, one radosgw on loopback), started once per test run by the global setup
 * (~16 s) and stopped by pid. Recipe and traps: shared/recipes/s3-ceph-rgw.md.
 */
export interface RgwCluster {
  /** http://127.0.0.1:PORT of the shared radosgw */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** The cluster's ceph.conf: a test file starts its own radosgw on it to stop and start. */
  conf: string;
}

/** The run's cluster, which the global setup (rgwCluster.ts) passes to the test processes. */
export function runCluster(): RgwCluster {
  const value = process.env.TEST_RGW_CLUSTER;
  if (!value) throw new Error('TEST_OBJECT_STORE=rgw, but the global setup started no Ceph RGW');
  return JSON.parse(value) as RgwCluster;
}

const run = promisify(execFile);
// A CEPH_CONF or CEPH_ARGS left in the environment points the tools at another cluster.
const cephEnv = () => {
  const env = { ...process.env };
  delete env.CEPH_CONF;
  delete env.CEPH_ARGS;
  return env;
};

const need = (binary: string) =>
  debianBinary(binary, '--no-install-recommends radosgw ceph-mon ceph-osd');

/** A Ceph daemon in the foreground, as a child process; its stderr kept for the error. */
export class CephDaemon {
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(binary: string, args: string[]) {
    this.child = spawn(need(binary), args, {
      env: cephEnv(),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    this.child.stderr!.on(
      'data',
      (c: Buffer) => (this.stderr = (this.stderr + c.toString()).slice(-4000)),
    );
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  failure(what: string): Error {
    return new Error(`${what} exited: ${this.stderr}`);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (this.exited) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill(signal); // by its own pid, nothing else
    await gone;
  }
}

async function ceph(conf: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(need('ceph'), ['-c', conf, '--connect-timeout', '10', ...args], {
    env: cephEnv(),
  });
  return stdout;
}

/** Answers when radosgw answers HTTP at all (an anonymous GET / is 200). */
async function answers(endpoint: string): Promise<boolean> {
  return (await fetch(`${endpoint}/`).catch(() => undefined)) !== undefined;
}

/** A radosgw on the cluster, on its own port: its own process to stop and start. */
export async function startRadosgw(
  conf: string,
  name: string,
  port: number,
): Promise<CephDaemon & { endpoint: string }> {
  const dir = path.dirname(conf);
  fs.mkdirSync(path.join(dir, `rgw-${name}`), { recursive: true });
  const daemon = new CephDaemon('radosgw', [
    '-c',
    conf,
    '-n',
    `client.rgw.${name}`,
    '-f',
    '--rgw-frontends',
    `beast endpoint=127.0.0.1:${port}`,
    '--rgw-data',
    path.join(dir, `rgw-${name}`),
  ]);
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (daemon.exited) throw daemon.failure(`radosgw ${name}`);
      return answers(endpoint);
    },
    `radosgw ${name} to answer`,
    60_000,
    100,
  );
  return Object.assign(daemon, { endpoint });
}

/** The cluster's one OSD, to take down (RGW then holds every request) and bring back. */
export interface OsdControl {
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startCephRgw(): Promise<{
  cluster: RgwCluster;
  osd: OsdControl;
  stop: () => Promise<void>;
}> {
  for (const binary of ['monmaptool', 'ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin']) {
    need(binary);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cygno-ceph-'));
  for (const sub of ['run', 'log', 'crash', 'mon', 'osd/ceph-0']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  const conf = path.join(dir, 'ceph.conf');
  const fsid = randomUUID();
  const monPort = await freePort();
  fs.writeFileSync(conf, cephConf(dir, fsid, monPort));
  const daemons: CephDaemon[] = [];
  const stop = async () => {
    // radosgw, then the OSD, then the monitor: an OSD without its monitor waits to tell it.
    for (const daemon of daemons.reverse()) await daemon.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(need('monmaptool'), [
      '--create',
      '--addv',
      'a',
      `[v2:127.0.0.1:${monPort}]`,
      '--fsid',
      fsid,
      path.join(dir, 'monmap'),
    ]);
    await run(need('ceph-mon'), ['-c', conf, '--mkfs', '-i', 'a', '--monmap', `${dir}/monmap`], {
      env: cephEnv(),
    });
    const mon = new CephDaemon('ceph-mon', ['-c', conf, '-i', 'a', '-f']);
    daemons.push(mon);
    await waitFor(
      async () => {
        if (mon.exited) throw mon.failure('ceph-mon');
        return (await ceph(conf, 'mon', 'stat').catch(() => '')).includes('quorum');
      },
      'the Ceph monitor to form a quorum',
      30_000,
      200,
    );

    const osdUuid = randomUUID();
    const id = (await ceph(conf, 'osd', 'new', osdUuid)).trim();
    await run(need('ceph-osd'), ['-c', conf, '-i', id, '--mkfs', '--osd-uuid', osdUuid], {
      env: cephEnv(),
    });
    let osd: CephDaemon | undefined;
    const osdControl: OsdControl = {
      async start() {
        osd = new CephDaemon('ceph-osd', ['-c', conf, '-i', id, '-f']);
        daemons.splice(1, 0, osd);
        const started = osd;
        await waitFor(
          async () => {
            if (started.exited) throw started.failure('ceph-osd');
            return /^osd\.0 up/m.test(await ceph(conf, 'osd', 'dump').catch(() => ''));
          },
          'the Ceph OSD to be up',
          60_000,
          250,
        );
      },
      async stop() {
        await osd?.stop();
        daemons.splice(daemons.indexOf(osd!), 1);
        osd = undefined;
      },
    };
    await osdControl.start();

    const rgw = await startRadosgw(conf, 'a', await freePort());
    daemons.push(rgw);
    const accessKey = 'CYGNOTESTACCESS';
    const secretKey = 'cygno-test-secret-key-0123456789';
    await run(
      need('radosgw-admin'),
      [
        '-c',
        conf,
        'user',
        'create',
        '--uid=cygno-test',
        '--display-name=cygno test',
        `--access-key=${accessKey}`,
        `--secret=${secretKey}`,
      ],
      { env: cephEnv() },
    );
    return {
      cluster: { endpoint: rgw.endpoint, accessKey, secretKey, conf },
      osd: osdControl,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function cephConf(dir: string, fsid: string, monPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
auth cluster required = none
auth service required = none
auth client required = none
# radosgw's built-in 'secure' mode needs cephx: without this it never comes up (recipe, trap 1).
ms mon client mode = crc secure
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim = false
mon warn on insecure global id reclaim allowed = false
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon data avail warn = 2
mon data avail crit = 1
run dir = ${dir}/run
admin socket = ${dir}/run/$name.asok
log file = ${dir}/log/$name.log
crash dir = ${dir}/crash
mon data = ${dir}/mon/$cluster-$id
osd data = ${dir}/osd/$cluster-$id
keyring = /dev/null

[osd]
# A radosgw killed by a test leaves its watch on the control objects; until the watch times out
# (30 s by default) every bucket creation waits for the dead gateway's answer.
osd client watch timeout = 5
osd objectstore = bluestore
bluestore block create = true
bluestore block size = 20G
osd memory target = 1G

[client]
rgw thread pool size = 64
`;
}
