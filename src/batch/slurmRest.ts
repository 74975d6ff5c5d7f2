import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import {
  slurmStatesOf,
  type BatchJobState,
  type BatchSubmission,
  type BatchSystem,
} from './BatchSystem';
import { batchScript } from './shellScript';

const API = '/slurm/v0.0.38';

interface RestReply {
  status: number;
  body: Record<string, unknown>;
}

interface SlurmError {
  error?: string;
  error_number?: number;
  errno?: number;
}

/**
 * Slurm through slurmrestd (API v0.0.38, Slurm 22.05): REST and JSON, no shelling out and no
 * parsing of human output. Over TCP with a JWT (`scontrol token`) sent with the user name, or
 * over slurmrestd's unix socket with local auth.
 */
export class SlurmRest implements BatchSystem {
  readonly description: string;
  private readonly socketPath?: string;
  private readonly base?: URL;

  constructor(
    url: string,
    private readonly user: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 10_000,
  ) {
    if (url.startsWith('unix:')) this.socketPath = url.slice('unix:'.length);
    else this.base = new URL(url);
    this.description = `slurm (slurmrestd ${url})`;
  }

  async submit(submission: BatchSubmission): Promise<string> {
    const { environment, command, workDir } = submission;
    const out = path.join(workDir, `${submission.name}-%j.out`);
    const job: Record<string, unknown> = {
      name: submission.name,
      current_working_directory: workDir,
      // v0.0.38 refuses a job without an environment object; the script sets the job's own.
      environment: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
      standard_output: out,
      standard_error: out,
      time_limit: submission.timeLimitMinutes,
      cpus_per_task: submission.cpus,
      memory_per_node: submission.memoryMb,
      ...(submission.group ? { comment: submission.group } : {}),
      ...(submission.partition ? { partition: submission.partition } : {}),
    };
    const reply = await this.request('POST', `${API}/job/submit`, {
      script: batchScript(command, environment),
      job,
    });
    const id = reply.body.job_id;
    if (reply.status !== 200 || typeof id !== 'number')
      throw new Error(`slurmrestd refused the job: ${this.errorsOf(reply)}`);
    return String(id);
  }

  async states(ids: readonly string[]): Promise<Map<string, BatchJobState>> {
    if (ids.length === 0) return new Map();
    // One request for every job the controller holds (the recipe: poll /jobs, filter here).
    const reply = await this.request('GET', `${API}/jobs`);
    if (reply.status !== 200) throw new Error(`slurmrestd /jobs: ${this.errorsOf(reply)}`);
    return slurmStatesOf((reply.body.jobs ?? []) as Array<Record<string, unknown>>, ids);
  }

  async cancel(id: string): Promise<void> {
    const reply = await this.request('DELETE', `${API}/job/${encodeURIComponent(id)}`);
    // 2017: the job is unknown (finished and purged): nothing left to cancel.
    if (reply.status === 200 || this.errorNumbers(reply).includes(2017)) return;
    throw new Error(`slurmrestd could not cancel job ${id}: ${this.errorsOf(reply)}`);
  }

  private errorNumbers(reply: RestReply): number[] {
    return ((reply.body.errors ?? []) as SlurmError[]).map((e) => e.error_number ?? e.errno ?? 0);
  }

  private errorsOf(reply: RestReply): string {
    const errors = ((reply.body.errors ?? []) as SlurmError[])
      .map((e) => `${e.error ?? 'error'} (${e.error_number ?? e.errno ?? '?'})`)
      .join('; ');
    return `HTTP ${reply.status}${errors ? `: ${errors}` : ''}`;
  }

  /** One request; the body always with its Content-Length (slurmrestd 22.05 mishandles chunked). */
  private request(method: string, route: string, body?: unknown): Promise<RestReply> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (payload) {
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    if (this.token) {
      headers['X-SLURM-USER-NAME'] = this.user;
      headers['X-SLURM-USER-TOKEN'] = this.token;
    }
    const secure = this.base?.protocol === 'https:';
    const options: http.RequestOptions = this.socketPath
      ? { socketPath: this.socketPath, path: route, method, headers }
      : {
          host: this.base!.hostname,
          port: this.base!.port || (secure ? 443 : 80),
          path: `${this.base!.pathname.replace(/\/$/, '')}${route}`,
          method,
          headers,
        };
    return new Promise((resolve, reject) => {
      const req = (secure ? https : http).request(options, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, unknown> = {};
          try {
            parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            parsed = { errors: [{ error: text.slice(0, 200) }] };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      });
      req.setTimeout(this.timeoutMs, () =>
        req.destroy(new Error(`slurmrestd did not answer within ${this.timeoutMs} ms`)),
      );
      req.on('error', (error) =>
        reject(new Error(`slurmrestd (${this.description}): ${error.message}`)),
      );
      req.end(payload);
    });
  }
}
