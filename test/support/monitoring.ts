import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { debianBinary } from './debianBinary';
import { waitFor } from './wait';
import { freePort } from './ports';

/** A real server of the monitoring ecosystem (Debian's package), as a child process. */
export interface MonitoringServer {
  url: string;
  close(): Promise<void>;
}

const need = (binary: string) => debianBinary(binary, 'prometheus prometheus-alertmanager');

async function start(
  binary: string,
  args: (dir: string, port: number) => string[],
  files: Record<string, string>,
): Promise<MonitoringServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cygno-${binary}-`));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(need(binary), args(dir, port), {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${binary} exited: ${stderr}`);
      return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok;
    },
    `${binary} to be ready`,
    20_000,
    100,
  );
  return {
    url,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM'); // by its own pid, nothing else
        await exited;
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's Prometheus with this configuration and rule file, on a free loopback port. */
export function startPrometheus(config: string, rules: string): Promise<MonitoringServer> {
  return start(
    'prometheus',
    (dir, port) => [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=http://127.0.0.1:${port}`,
      '--rules.alert.resend-delay=1s',
      '--log.level=warn',
    ],
    { 'prometheus.yml': config, 'rules.yml': rules },
  );
}

/** Debian's Alertmanager (no cluster: it would bind *:9094 and hold notifications). */
export function startAlertmanager(config: string): Promise<MonitoringServer> {
  return start(
    'prometheus-alertmanager',
    (dir, port) => [
      `--config.file=${path.join(dir, 'am.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--web.external-url=http://127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    { 'am.yml': config },
  );
}

/** `promtool check metrics` on an exposition text: its exit code and what it reported. */
export function promtoolCheckMetrics(text: string): { status: number; problems: string[] } {
  const result = spawnSync(need('promtool'), ['check', 'metrics'], { input: text });
  const output = `${result.stdout}${result.stderr}`;
  return {
    status: result.status ?? -1,
    problems: output.split('\n').filter((line) => line.trim() !== ''),
  };
}
