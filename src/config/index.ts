import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { checkWebhookUrl } from './discordWebhook';
import { parseApiTokens, type ApiToken } from '../auth/apiTokens';
import { parseRoleMap, type OidcSettings } from '../auth/oidc';
import { ALL_ROLES, isRole, type Role } from '../auth/roles';
import {
  DEFAULT_DQ_BANDS,
  DEFAULT_FE55,
  parseDqBands,
  type DqBand,
  type Fe55Options,
} from '../reco/dq';
import { CYGNO_DEFAULTS, recoParameters, type RecoParameters } from '../reco/image';
import { readBatch, type BatchSettings } from './batch';
import { parseAlarmRules, type RuleSpec } from './alarmRules';
import {
  REDUCTION_DEFAULTS,
  reductionParameters,
  type ReductionParameters,
} from '../reco/reduction/parameters';

/**
 * The gateway's configuration, read from the environment once at start-up and frozen.
 * Every variable has an embedded default so that `npm start` works on a fresh clone;
 * an invalid value stops the start with a message naming the variable.
 */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly redisUrl: string | undefined;
  /** Prefix of every Redis channel, so several deployments (or test files) can share one Redis. */
  readonly redisPrefix: string;
  readonly objectStoreUrl: string;
  /** Objects larger than this are uploaded to S3 in parts of this size. */
  readonly s3PartSize: number;
  /** An S3 request that neither sends nor receives a byte for this long fails (a hung store). */
  readonly s3TimeoutMs: number;
  readonly tapeUrl: string;
  readonly tapeTokenFile: string | undefined;
  readonly daqBufferDir: string;
  readonly site: string;
  /** Object key of raw files: {site}, {name}, {run}, {run5}; CYGNO's layout is LNGS/run%05d.mid.gz. */
  readonly objectKeyTemplate: string;
  readonly apiTokens: readonly ApiToken[];
  /** Require a token even when neither API_TOKENS nor OIDC is set (tokens kept in the database). */
  readonly authRequired: boolean;
  /** INDIGO IAM sign-in; undefined when OIDC_ISSUER is unset. */
  readonly oidc: OidcSettings | undefined;
  /** Abuse limits: query depth and estimated cost, refused before the query runs. */
  readonly queryMaxDepth: number;
  readonly queryMaxCost: number;
  /** Mutations per minute per caller (a token bucket with this burst). */
  readonly mutationRatePerMinute: number;
  readonly maxSubscriptionsPerConnection: number;
  /** A camera image preview for the console at most this often per reconstruction job. */
  readonly previewEveryMs: number;
  readonly previewRebin: number;
  readonly discordWebhookUrl: string | undefined;
  /** Alarm events within this window go to Discord as one message. */
  readonly discordGroupMs: number;
  /** Alertmanager to push the gateway's own alarms to (API v2); undefined: none. */
  readonly alertmanagerUrl: string | undefined;
  /** How often open alarms are pushed again (Alertmanager resolves what it stops hearing). */
  readonly alertmanagerResendMs: number;
  /** A still-firing alarm is sent again at most this often. */
  readonly alarmRepeatIntervalMs: number;
  readonly logLevel: string;
  /** Run pending migrations when `serve` or `worker` starts (the embedded default needs it). */
  readonly migrateOnStart: boolean;
  /** Number of in-process job workers `serve` runs next to the API (0: API only). */
  readonly workers: number;
  readonly jobLeaseMs: number;
  readonly jobPollMs: number;
  readonly jobMaxAttempts: number;
  readonly jobBackoffBaseMs: number;
  readonly jobBackoffMaxMs: number;
  /** Largest `first` a connection accepts. */
  readonly maxPageSize: number;
  /** Rows per record batch (and per database read) of a bulk export. */
  readonly exportBatchRows: number;
  /** Threads that read one export of several runs at once (1: the gateway's own only). */
  readonly exportThreads: number;
  /** The most rows one export may return, per role (a role not named has no limit). */
  readonly exportRowLimits: ReadonlyMap<Role, number>;
  /** Base of URLs the gateway hands out (signed downloads); defaults to http://HOST:PORT. */
  readonly publicUrl: string;
  /** PUBLIC_URL was given; otherwise the server's own address once it listens replaces the guess. */
  readonly publicUrlGiven: boolean;
  /** Key of signed download URLs; replicas must share it. Random per process when unset. */
  readonly urlSigningSecret: string;
  /** Camera reconstruction parameters: CYGNO's defaults with RECO_PARAMETERS (JSON) on top. */
  readonly recoParameters: RecoParameters;
  /** What each RECONSTRUCT from raw files also keeps as the run's reduced file; null: none. */
  readonly reduction: ReductionParameters | null;
  /** Reconstruction threads per RECONSTRUCT job (default: every core). */
  readonly recoThreads: number;
  /**
   * The live reconstruction of open runs (LIVE_RECO, on by default): where workers run, the
   * files of a running run are followed in DAQ_BUFFER_DIR and its images reconstructed as they
   * are written, on `threads` threads (LIVE_RECO_THREADS), skipping what they cannot keep up
   * with; the buffer is polled every `pollMs` where no file-system notification comes.
   */
  readonly live: {
    enabled: boolean;
    threads: number;
    pollMs: number;
    leaseMs: number;
    updateMs: number;
  };
  /** The MIDAS bank that holds the camera image. */
  readonly cameraBank: string;
  /** DQ bands that set AUTO quality flags and raise alarms. */
  readonly dqBands: readonly DqBand[];
  /** Where to look for the ⁵⁵Fe peak among cluster integrals in source runs. */
  readonly fe55: Fe55Options;
  /** How long a tape copy refused for its token waits before reading the token file again. */
  readonly tapeTokenRetryMs: number;
  /** Alarm rules on top of the built-in pipeline rules (JSON array), replaced by name at start. */
  readonly alarmRules: readonly RuleSpec[];
  /** How often `serve` evaluates the alarm rules (0: never). */
  readonly alarmEvalMs: number;
  /** How often `serve` records the pipeline's own gauges as metrics (0: never). */
  readonly pipelineGaugeMs: number;
  /** Metric samples older than this many days are kept as 1-minute means (0: never). */
  readonly metricRawDays: number;
  /** Metric samples older than this many days are deleted (0: kept for ever). */
  readonly metricKeepDays: number;
  /** Execute each subscription event once per distinct subscription (off only to measure). */
  readonly sharedSubscriptions: boolean;
  /** When a buffer file may be freed: never, once its cloud copy is verified, or its tape copy too. */
  readonly retentionBuffer: 'off' | 'after-cloud' | 'after-tape';
  /** Free cloud copies of raw files of runs older than this many days, when on tape (0: never). */
  readonly retentionCloudDays: number;
  /** when-reduced: free a raw file's cloud copy once its run's reduced file is stored and it is on tape. */
  readonly retentionCloudRaw: 'keep' | 'when-reduced';
  /** primary: writes, runs workers; replica: serves a read-only MariaDB replica (issue 23). */
  readonly gatewayRole: 'primary' | 'replica';
  /** The primary gateway's URL, named to callers whose mutations a replica refuses. */
  readonly primaryUrl: string | undefined;
  /** Let a replica gateway start on a writable database (normally refused: it is a mistake). */
  readonly replicaAllowWritable: boolean;
  /** Replication lag past which a replica is degraded and raises its lag alarm. */
  readonly replicaMaxLagSeconds: number;
  /** Record published changes in the database's change log, so replicas can follow them. */
  readonly changeLog: boolean;
  /** The batch system jobs may run on (BATCH=slurm|htcondor); null: the gateway's workers only. */
  readonly batch: BatchSettings | null;
  /** How often the change log and the replication state are read. */
  readonly changePollMs: number;
  /** Change-log entries older than this many hours are deleted by the primary (0: never). */
  readonly changeLogKeepHours: number;
}

function parseRecoParameters(text: string): RecoParameters {
  const overrides: unknown = JSON.parse(text);
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides))
    throw new Error('expected a JSON object of reconstruction parameters');
  const result = recoParameters(overrides as Record<string, unknown>);
  if ('problems' in result) throw new Error(result.problems.join('; '));
  return result.parameters;
}

function parseReduction(text: string): ReductionParameters | null {
  if (text === 'off') return null;
  const overrides: unknown = text === 'on' ? {} : JSON.parse(text);
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides))
    throw new Error('expected off, on or a JSON object of reduction parameters');
  const result = reductionParameters(overrides as Record<string, unknown>);
  if ('problems' in result) throw new Error(result.problems.join('; '));
  return result.parameters;
}

function parseFe55Window(text: string): Fe55Options {
  const [minAdc, maxAdc] = text.split(',').map(Number);
  if (!(minAdc >= 0 && maxAdc > minAdc)) throw new Error('expected "min,max" in ADC, min < max');
  return { ...DEFAULT_FE55, minAdc, maxAdc };
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function hostForUrl(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || host.startsWith('127.');
}

/** Reads and validates the configuration; throws ConfigError listing every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const reader = new EnvReader(env, problems);

  const config: Mutable<Config> = {
    port: reader.int('PORT', 4000, { min: 0, max: 65535 }),
    host: reader.string('HOST', '127.0.0.1'),
    databaseUrl: reader.url('DATABASE_URL', 'sqlite:./var/cygno.sqlite', [
      'sqlite:',
      'mariadb:',
      'mysql:',
    ]),
    redisUrl: reader.optionalUrl('REDIS_URL', ['redis:', 'rediss:']),
    redisPrefix: reader.string('REDIS_PREFIX', 'cygno:'),
    objectStoreUrl: reader.url('OBJECT_STORE_URL', 'file:./var/objects', ['file:', 's3:']),
    s3PartSize: reader.int('S3_PART_SIZE', 64 * 1024 * 1024, { min: 5 * 1024 * 1024 }),
    s3TimeoutMs: reader.int('S3_TIMEOUT_MS', 120_000, { min: 100 }),
    tapeUrl:
      env.TAPE_URL === 'none'
        ? 'none'
        : reader.url('TAPE_URL', 'file:./var/tape', ['file:', 'davs:', 'https:', 'http:']),
    tapeTokenFile: reader.optionalString('TAPE_TOKEN_FILE'),
    daqBufferDir: path.resolve(reader.string('DAQ_BUFFER_DIR', './var/buffer')),
    site: reader.matching('SITE', 'LNGS', /^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, _ or -'),
    objectKeyTemplate: reader.matching(
      'OBJECT_KEY_TEMPLATE',
      '{site}/{name}',
      /\{name\}|\{run5?\}/,
      'a key template with {name}, {run} or {run5}',
    ),
    apiTokens: reader.parsed('API_TOKENS', [], parseApiTokens),
    authRequired: reader.bool('AUTH_REQUIRED', false),
    oidc: readOidc(reader, problems),
    queryMaxDepth: reader.int('QUERY_MAX_DEPTH', 12, { min: 2, max: 100 }),
    queryMaxCost: reader.int('QUERY_MAX_COST', 100_000, { min: 10 }),
    mutationRatePerMinute: reader.int('MUTATION_RATE_PER_MINUTE', 600, { min: 1 }),
    previewEveryMs: reader.int('PREVIEW_EVERY_MS', 5_000, { min: 0 }),
    previewRebin: reader.int('PREVIEW_REBIN', 8, { min: 1, max: 64 }),
    maxSubscriptionsPerConnection: reader.int('MAX_SUBSCRIPTIONS_PER_CONNECTION', 20, {
      min: 1,
      max: 1000,
    }),
    discordWebhookUrl: reader.parsed('DISCORD_WEBHOOK_URL', undefined, checkWebhookUrl),
    discordGroupMs: reader.int('DISCORD_GROUP_MS', 2_000, { min: 0 }),
    alarmRepeatIntervalMs: reader.int('ALARM_REPEAT_INTERVAL_MS', 4 * 3_600_000, { min: 0 }),
    logLevel: reader.oneOf('LOG_LEVEL', 'info', [
      'trace',
      'debug',
      'info',
      'warn',
      'error',
      'fatal',
      'silent',
    ]),
    migrateOnStart: reader.bool('MIGRATE_ON_START', true),
    workers: reader.int('WORKERS', 1, { min: 0, max: 64 }),
    jobLeaseMs: reader.int('JOB_LEASE_MS', 30_000, { min: 200 }),
    jobPollMs: reader.int('JOB_POLL_MS', 1_000, { min: 10 }),
    jobMaxAttempts: reader.int('JOB_MAX_ATTEMPTS', 5, { min: 1, max: 100 }),
    jobBackoffBaseMs: reader.int('JOB_BACKOFF_BASE_MS', 5_000, { min: 0 }),
    jobBackoffMaxMs: reader.int('JOB_BACKOFF_MAX_MS', 3_600_000, { min: 0 }),
    maxPageSize: reader.int('MAX_PAGE_SIZE', 500, { min: 1, max: 10_000 }),
    exportBatchRows: reader.int('EXPORT_BATCH_ROWS', 16_384, { min: 1, max: 1 << 20 }),
    exportThreads: reader.int('EXPORT_THREADS', 2, { min: 1, max: 16 }),
    exportRowLimits: reader.parsed('EXPORT_ROW_LIMITS', new Map(), parseRowLimits),
    publicUrl: '',
    publicUrlGiven: Boolean(env.PUBLIC_URL),
    urlSigningSecret:
      reader.optionalString('URL_SIGNING_SECRET') ?? randomBytes(32).toString('hex'),
    recoParameters: reader.parsed('RECO_PARAMETERS', CYGNO_DEFAULTS, parseRecoParameters),
    reduction: reader.parsed('REDUCTION', REDUCTION_DEFAULTS, parseReduction),
    live: {
      enabled: reader.bool('LIVE_RECO', true),
      threads: reader.int('LIVE_RECO_THREADS', 1, { min: 1, max: 64 }),
      pollMs: reader.int('LIVE_POLL_MS', 1_000, { min: 10 }),
      leaseMs: reader.int('LIVE_LEASE_MS', 15_000, { min: 100 }),
      updateMs: reader.int('LIVE_UPDATE_MS', 1_000, { min: 10 }),
    },
    recoThreads: reader.int('RECO_THREADS', Math.max(1, os.availableParallelism()), {
      min: 1,
      max: 64,
    }),
    cameraBank: reader.matching('CAMERA_BANK', 'CAM0', /^[A-Za-z0-9_]{1,4}$/, 'a bank name'),
    dqBands: reader.parsed('DQ_BANDS', DEFAULT_DQ_BANDS, parseDqBands),
    fe55: reader.parsed('FE55_WINDOW_ADC', DEFAULT_FE55, parseFe55Window),
    alarmRules: reader.parsed('ALARM_RULES', [], parseAlarmRules),
    alarmEvalMs: reader.int('ALARM_EVAL_MS', 10_000, { min: 0 }),
    pipelineGaugeMs: reader.int('PIPELINE_GAUGE_MS', 15_000, { min: 0 }),
    sharedSubscriptions: reader.bool('SHARED_SUBSCRIPTIONS', true),
    metricRawDays: reader.int('METRIC_RAW_DAYS', 30, { min: 0 }),
    metricKeepDays: reader.int('METRIC_KEEP_DAYS', 0, { min: 0 }),
    tapeTokenRetryMs: reader.int('TAPE_TOKEN_RETRY_MS', 30_000, { min: 10 }),
    retentionBuffer: reader.oneOf('RETENTION_BUFFER', 'off', [
      'off',
      'after-cloud',
      'after-tape',
    ]) as Config['retentionBuffer'],
    retentionCloudDays: reader.int('RETENTION_CLOUD_DAYS', 0, { min: 0, max: 36_500 }),
    retentionCloudRaw: reader.oneOf('RETENTION_CLOUD_RAW', 'keep', [
      'keep',
      'when-reduced',
    ]) as Config['retentionCloudRaw'],
    alertmanagerUrl: reader.optionalUrl('ALERTMANAGER_URL', ['http:', 'https:']),
    alertmanagerResendMs: reader.int('ALERTMANAGER_RESEND_MS', 60_000, { min: 100 }),
    gatewayRole: reader.oneOf('GATEWAY_ROLE', 'primary', [
      'primary',
      'replica',
    ]) as Config['gatewayRole'],
    primaryUrl: reader.optionalUrl('PRIMARY_URL', ['http:', 'https:']),
    replicaAllowWritable: reader.bool('REPLICA_ALLOW_WRITABLE', false),
    replicaMaxLagSeconds: reader.int('REPLICA_MAX_LAG_SECONDS', 60, { min: 1 }),
    changeLog: false,
    changePollMs: reader.int('CHANGE_POLL_MS', 250, { min: 10, max: 60_000 }),
    changeLogKeepHours: reader.int('CHANGE_LOG_KEEP_HOURS', 168, { min: 0 }),
    batch: readBatch(reader, problems),
  };
  if (config.reduction && config.reduction.marginBins < config.recoParameters.eps + 1)
    problems.push(
      `REDUCTION: marginBins ${config.reduction.marginBins} must be at least eps + 1 = ${config.recoParameters.eps + 1} (RECO_PARAMETERS), or reduced files would lose clusters`,
    );
  // On by default where replication exists (MariaDB); a replica always follows the log.
  config.changeLog = reader.bool('CHANGE_LOG', !config.databaseUrl.startsWith('sqlite:'));
  if (config.gatewayRole === 'replica') {
    if (config.databaseUrl.startsWith('sqlite:'))
      problems.push('GATEWAY_ROLE: a replica gateway needs a MariaDB replica as DATABASE_URL');
    if (!config.primaryUrl)
      problems.push(
        "PRIMARY_URL: required with GATEWAY_ROLE=replica (callers' mutations are sent there)",
      );
    config.changeLog = true;
    config.workers = 0;
    config.migrateOnStart = false;
  }
  config.publicUrl = reader.url('PUBLIC_URL', `http://${hostForUrl(config.host)}:${config.port}`, [
    'http:',
    'https:',
  ]);

  if (!authConfigured(config) && !isLoopbackHost(config.host)) {
    problems.push(
      `HOST: refusing to bind to ${config.host} without authentication; set API_TOKENS, OIDC_ISSUER or AUTH_REQUIRED, or bind to 127.0.0.1`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

/** Whether any authentication is configured; without it loopback clients are admins. */
export function authConfigured(config: Config): boolean {
  return config.apiTokens.length > 0 || config.oidc !== undefined || config.authRequired;
}

const DEFAULT_ROLE_MAP =
  '/cygno/admin=admin,/cygno/daq=daq,/cygno/shifter=shifter,/cygno/production=production,/cygno=reader';
const DEFAULT_OIDC_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384'];

function readOidc(reader: EnvReader, problems: string[]): OidcSettings | undefined {
  const issuer = reader.optionalString('OIDC_ISSUER');
  const audience = reader.optionalString('OIDC_AUDIENCE');
  if (!issuer) {
    if (audience) problems.push('OIDC_AUDIENCE: set only together with OIDC_ISSUER');
    return undefined;
  }
  const url = reader.optionalUrl('OIDC_ISSUER', ['https:', 'http:']);
  if (!url) return undefined; // the reader has recorded why
  if (url.startsWith('http:') && !isLoopbackHost(new URL(url).hostname.replace(/^\[|\]$/g, '')))
    problems.push('OIDC_ISSUER: an issuer must be https (plain http only on loopback, for tests)');
  if (!audience)
    problems.push(
      'OIDC_AUDIENCE: required with OIDC_ISSUER (the audience IAM puts in tokens for this gateway)',
    );
  const algorithms = reader
    .string('OIDC_ALGORITHMS', DEFAULT_OIDC_ALGORITHMS.join(','))
    .split(',')
    .map((a) => a.trim());
  for (const algorithm of algorithms)
    if (!/^(RS|PS|ES)(256|384|512)$|^EdDSA$/.test(algorithm))
      problems.push(`OIDC_ALGORITHMS: ${algorithm} is not an asymmetric JWS algorithm`);
  return {
    issuer,
    audience: audience ?? '',
    roleMap: reader.parsed('OIDC_ROLE_MAP', parseRoleMap(DEFAULT_ROLE_MAP, isRole), (text) =>
      parseRoleMap(text, isRole),
    ),
    groupClaims: reader
      .string('OIDC_GROUP_CLAIMS', 'groups,wlcg.groups')
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean),
    clockSkewSeconds: reader.int('OIDC_CLOCK_SKEW_S', 30, { min: 0, max: 600 }),
    jwksCooldownMs: reader.int('OIDC_JWKS_COOLDOWN_MS', 30_000, { min: 0 }),
    jwksMaxAgeMs: reader.int('OIDC_JWKS_MAX_AGE_MS', 600_000, { min: 0 }),
    fetchTimeoutMs: reader.int('OIDC_FETCH_TIMEOUT_MS', 5_000, { min: 100, max: 60_000 }),
    algorithms,
  };
}

export class EnvReader {
  constructor(
    private readonly env: Env,
    private readonly problems: string[],
  ) {}

  private raw(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string {
    return this.raw(name) ?? fallback;
  }

  optionalString(name: string): string | undefined {
    return this.raw(name);
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    const parsed = Number(value);
    const { min = -Infinity, max = Infinity } = range;
    if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
      const bounds = [min > -Infinity ? `>= ${min}` : '', max < Infinity ? `<= ${max}` : '']
        .filter(Boolean)
        .join(' and ');
      this.problems.push(
        `${name}: expected an integer${bounds ? ` ${bounds}` : ''}, got "${value}"`,
      );
      return fallback;
    }
    return parsed;
  }

  bool(name: string, fallback: boolean): boolean {
    const value = this.raw(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.problems.push(`${name}: expected true or false, got "${value}"`);
    return fallback;
  }

  oneOf(name: string, fallback: string, allowed: string[]): string {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    if (allowed.includes(value)) return value;
    this.problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${value}"`);
    return fallback;
  }

  matching(name: string, fallback: string, pattern: RegExp, description: string): string {
    const value = this.raw(name) ?? fallback;
    if (!pattern.test(value))
      this.problems.push(`${name}: expected ${description}, got "${value}"`);
    return value;
  }

  url(name: string, fallback: string, schemes: string[]): string {
    return this.optionalUrl(name, schemes) ?? fallback;
  }

  optionalUrl(name: string, schemes: string[]): string | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    let protocol: string;
    try {
      protocol = new URL(value).protocol;
    } catch {
      this.problems.push(`${name}: not a valid URL (expected ${schemes.join(' or ')}…)`);
      return undefined;
    }
    if (!schemes.includes(protocol)) {
      this.problems.push(
        `${name}: unsupported scheme "${protocol}" (expected ${schemes.join(', ')})`,
      );
      return undefined;
    }
    return value;
  }

  parsed<T>(name: string, fallback: T, parse: (value: string) => T): T {
    const value = this.raw(name);
    if (value === undefined) return fallback;
    try {
      return parse(value);
    } catch (error) {
      this.problems.push(`${name}: ${(error as Error).message}`);
      return fallback;
    }
  }
}

/** `EXPORT_ROW_LIMITS=reader=2000000,shifter=20000000`: the most rows one export returns, per role. */
export function parseRowLimits(value: string): Map<Role, number> {
  const limits = new Map<Role, number>();
  for (const item of value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [role, rows] = item.split('=').map((s) => s.trim());
    if (!isRole(role)) throw new Error(`unknown role "${role}" (roles: ${ALL_ROLES.join(', ')})`);
    if (!/^\d+$/.test(rows ?? '') || Number(rows) < 1)
      throw new Error(`the limit for ${role} must be a positive number of rows, not "${rows}"`);
    limits.set(role, Number(rows));
  }
  return limits;
}
