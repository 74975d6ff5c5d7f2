import 'reflect-metadata';
import { promises as fsp } from 'node:fs';
import type { Logger as TypeOrmLogger } from 'typeorm';
import type { Config } from './config';
import { createDataSource } from './db/dataSource';
import { Database } from './db/Database';
import { createHandlerRegistry } from './jobs/handlers';
import { JobQueue } from './jobs/JobQueue';
import type { HandlerRegistry } from './jobs/registry';
import { Worker } from './jobs/Worker';
import { logger, setLogLevel } from './logger';
import { PubSub } from './pubsub';
import { createServices, type Services } from './services';
import { createObjectStore } from './storage/createObjectStore';
import { createTapeStore } from './tape';
import { AlertmanagerPusher } from './alerting/AlertmanagerPusher';
import { DiscordDispatcher } from './alerting/DiscordDispatcher';
import { DEFAULT_RULES } from './config/alarmRules';
import { PipelineGauges } from './services/PipelineGauges';
import type { ObjectStore } from './storage/ObjectStore';
import { UrlSigner } from './storage/signedUrls';
import { ChangeJournal } from './replication/changeJournal';
import { ChangeFollower } from './replication/changeFollower';
import { PrimaryHeartbeat } from './replication/primaryHeartbeat';
import { REPLICA_ALARM_SOURCE, ReplicationMonitor } from './replication/replicationMonitor';
import { checkReplicaDatabase } from './replication/replicaStartup';
import { ReplicationService } from './services/ReplicationService';
import { LiveReconstruction } from './live/LiveReconstruction';
import { BatchDispatcher, createBatchSystem } from './batch';

export interface RuntimeExtras {
  /** Receives every SQL statement (tests count them). */
  sqlLogger?: TypeOrmLogger;
}

/**
 * Everything but the HTTP layer: database, pub/sub, object store, job queue, services and the
 * job handlers. `serve` puts the API on top of it; `worker` runs only workers on it.
 */
export class Runtime {
  private worker?: Worker;
  /** Hands batch jobs to the batch system (BATCH) and follows them, where workers run. */
  private dispatcher?: BatchDispatcher;
  /** The live reconstruction of open runs, where workers run. */
  live?: LiveReconstruction;
  private gauges?: PipelineGauges;
  private heartbeat?: PrimaryHeartbeat;
  /** The change log this process writes (primary) and follows (serve). */
  private journal?: ChangeJournal;
  private follower?: ChangeFollower;
  replicationMonitor?: ReplicationMonitor;
  /** Alarm dispatch to Discord, when configured (replicas sharing Redis send each alarm once). */
  discord?: DiscordDispatcher;
  alertmanager?: AlertmanagerPusher;

  private constructor(
    readonly config: Config,
    readonly db: Database,
    readonly pubsub: PubSub,
    readonly store: ObjectStore,
    readonly signer: UrlSigner,
    readonly queue: JobQueue,
    readonly services: Services,
    readonly registry: HandlerRegistry,
  ) {}

  static async open(config: Config, extras: RuntimeExtras = {}): Promise<Runtime> {
    setLogLevel(config.logLevel);
    const log = logger('runtime');
    const dataSource = createDataSource(config.databaseUrl, { logger: extras.sqlLogger });
    await dataSource.initialize();
    try {
      const replica = config.gatewayRole === 'replica';
      if (replica) {
        await checkReplicaDatabase(dataSource, config.replicaAllowWritable);
      } else if (config.migrateOnStart) {
        const applied = await dataSource.runMigrations({ transaction: 'each' });
        if (applied.length > 0)
          log.info({ migrations: applied.map((m) => m.name) }, 'database migrated');
      } else if (await dataSource.showMigrations()) {
        throw new Error(
          'the database has pending migrations: run `cygno-gateway migrate` (or set MIGRATE_ON_START=true)',
        );
      }
      const db = new Database(dataSource, config.databaseUrl);
      const pubsub = config.redisUrl
        ? await PubSub.redis(config.redisUrl, config.redisPrefix)
        : PubSub.inProcess();
      const journal = config.changeLog && !replica ? new ChangeJournal(db) : undefined;
      if (journal) pubsub.setJournal((topic, message) => journal.append(topic, message));
      const follower = config.changeLog
        ? new ChangeFollower(db, config.changePollMs, replica ? pubsub : undefined)
        : undefined;
      const monitor =
        follower &&
        new ReplicationMonitor(db, follower, pubsub, {
          role: config.gatewayRole,
          maxLagSeconds: config.replicaMaxLagSeconds,
          primaryUrl: config.primaryUrl,
        });
      const signer = new UrlSigner(config.urlSigningSecret, config.publicUrl);
      const store = await createObjectStore(config.objectStoreUrl, config.s3PartSize, signer, {
        timeoutMs: config.s3TimeoutMs,
      }).catch(async (error: Error) => {
        await pubsub.close();
        throw new Error(`OBJECT_STORE_URL: cannot open the object store: ${error.message}`);
      });
      const queue = new JobQueue(db, pubsub, {
        leaseMs: config.jobLeaseMs,
        maxAttempts: config.jobMaxAttempts,
        backoffBaseMs: config.jobBackoffBaseMs,
        backoffMaxMs: config.jobBackoffMaxMs,
      });
      const services = createServices({
        db,
        queue,
        pubsub,
        store,
        signer,
        daqBufferDir: config.daqBufferDir,
        site: config.site,
        maxPageSize: config.maxPageSize,
        export: {
          rowLimits: config.exportRowLimits,
          batchRows: config.exportBatchRows,
          threads: config.exportThreads,
          databaseUrl: config.databaseUrl,
        },
        dqBands: config.dqBands,
        recoParameters: config.recoParameters,
        cameraBank: config.cameraBank,
        fe55: config.fe55,
        jobMaxAttempts: config.jobMaxAttempts,
        jobLeaseMs: config.jobLeaseMs,
        batch: config.batch,
        tape: createTapeStore(config.tapeUrl, config.tapeTokenFile),
        retention: {
          buffer: config.retentionBuffer,
          cloudDays: config.retentionCloudDays,
          cloudRaw: config.retentionCloudRaw,
        },
        replication: new ReplicationService(config.gatewayRole, follower, monitor),
        readOnly: replica,
      });
      const registry = createHandlerRegistry({ db, services, config, store, pubsub });
      if (!replica) {
        await services.alarmRules.seed(DEFAULT_RULES, { onlyMissing: true });
        await services.alarmRules.seed(config.alarmRules);
      }
      const runtime = new Runtime(config, db, pubsub, store, signer, queue, services, registry);
      runtime.journal = journal;
      runtime.follower = follower;
      runtime.replicationMonitor = monitor;
      return runtime;
    } catch (error) {
      await dataSource.destroy();
      throw error;
    }
  }

  /** The change-log follower of `serve` (undefined with CHANGE_LOG=false). */
  get changeFollower(): ChangeFollower | undefined {
    return this.follower;
  }

  /**
   * Starts `concurrency` job loops in this process, and the batch dispatcher and the live
   * reconstruction of open runs (LIVE_RECO) with them.
   */
  async startWorkers(concurrency = this.config.workers): Promise<void> {
    if (concurrency <= 0 || this.worker) return;
    await this.startDispatcher();
    await this.startLive();
    this.worker = new Worker(this.queue, this.registry, this.pubsub, {
      concurrency,
      pollMs: this.config.jobPollMs,
      leaseMs: this.config.jobLeaseMs,
    });
    await this.worker.start();
  }

  /** Stops taking local jobs (the ones running finish first); startWorkers starts again. */
  async stopWorkers(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await this.stopLive();
    await worker?.stop();
  }

  /** Follows open runs for the live reconstruction (LIVE_RECO; not on a read-only replica). */
  async startLive(): Promise<void> {
    const { live } = this.config;
    if (!live.enabled || this.live || this.config.gatewayRole === 'replica') return;
    const { runs, pedestals, dq, alarms } = this.services;
    this.live = new LiveReconstruction(this.db, this.pubsub, runs, pedestals, dq, alarms, {
      bufferDir: this.config.daqBufferDir,
      cameraBank: this.config.cameraBank,
      parameters: this.config.recoParameters,
      fe55: this.config.fe55,
      threads: live.threads,
      pollMs: live.pollMs,
      leaseMs: live.leaseMs,
      updateMs: live.updateMs,
      previewEveryMs: this.config.previewEveryMs,
      previewRebin: this.config.previewRebin,
      reduction: this.config.reduction,
    });
    await this.live.start();
  }

  async stopLive(): Promise<void> {
    const live = this.live;
    this.live = undefined;
    await live?.stop();
  }

  /** The batch dispatcher (BATCH set): submits batch jobs, follows and cancels them. */
  async startDispatcher(): Promise<void> {
    const batch = this.config.batch;
    if (!batch || this.dispatcher) return;
    this.dispatcher = new BatchDispatcher(
      this.db,
      this.queue,
      this.pubsub,
      createBatchSystem(batch),
      {
        system: batch.system,
        kinds: batch.kinds,
        pollMs: batch.pollMs,
        vanishGraceMs: batch.vanishGraceMs,
        // Queue wait and the run itself: revoked at settlement anyway, expiry is the backstop.
        tokenTtlMs: batch.tokenTtlHours * 3_600_000 + batch.timeLimitMinutes * 60_000,
        jobsPerSubmission: batch.runsPerJob,
        submission: {
          command: batch.command,
          gatewayUrl: () => batch.gatewayUrl ?? this.signer.url,
          cpus: batch.cpus,
          memoryMb: batch.memoryMb,
          timeLimitMinutes: batch.timeLimitMinutes,
          workDir: batch.workDir,
          partition: batch.partition,
        },
      },
    );
    const dispatcher = this.dispatcher;
    this.services.campaigns.onCancel = (jobs) => {
      dispatcher
        .cancelNow(jobs)
        .catch((error: Error) =>
          logger('batch').error({ err: error }, 'cancelling batch jobs failed'),
        );
    };
    // The batch nodes write their output there (on a cluster: a shared file system).
    await fsp.mkdir(batch.workDir, { recursive: true, mode: 0o755 });
    await dispatcher.start();
  }

  /**
   * The API server's background duties: token revocations followed, alarm rules evaluated,
   * pipeline gauges recorded.
   * (Every replica may run them: alarms deduplicate by fingerprint.)
   */
  async startBackground(): Promise<void> {
    await this.services.apiTokens.followRevocations();
    if (this.config.gatewayRole === 'primary' && this.config.changeLog) {
      this.heartbeat = new PrimaryHeartbeat(this.db, this.config.changeLogKeepHours);
      this.heartbeat.start();
    }
    await this.follower?.start();
    await this.replicationMonitor?.start();
    // A replica's database is read-only: the primary evaluates rules and records gauges, and
    // tells Discord and Alertmanager; its alarms reach this gateway's subscribers by the log.
    // What a replica pushes to Alertmanager is its own alarms (lag, diverged), held in memory.
    if (this.config.gatewayRole === 'replica') {
      const monitor = this.replicationMonitor;
      if (this.config.alertmanagerUrl && monitor) {
        this.alertmanager = new AlertmanagerPusher(
          this.config.alertmanagerUrl,
          this.pubsub,
          async () => monitor.openAlarms(),
          {
            resendMs: this.config.alertmanagerResendMs,
            publicUrl: this.config.publicUrl,
            accept: (alarm) => alarm.source === REPLICA_ALARM_SOURCE,
          },
        );
        await this.alertmanager.start();
      }
      return;
    }
    await this.services.alarmEngine.start(this.config.alarmEvalMs);
    this.gauges = new PipelineGauges(this.db, this.services.metrics);
    this.gauges.start(this.config.pipelineGaugeMs, {
      rawDays: this.config.metricRawDays,
      keepDays: this.config.metricKeepDays,
    });
    if (this.config.discordWebhookUrl) {
      this.discord = new DiscordDispatcher(
        this.config.discordWebhookUrl,
        this.pubsub,
        this.services,
        {
          groupMs: this.config.discordGroupMs,
          repeatIntervalMs: this.config.alarmRepeatIntervalMs,
        },
      );
      await this.discord.start();
    }
    if (this.config.alertmanagerUrl) {
      this.alertmanager = new AlertmanagerPusher(
        this.config.alertmanagerUrl,
        this.pubsub,
        () => this.services.alarms.openAlarms(),
        { resendMs: this.config.alertmanagerResendMs, publicUrl: this.config.publicUrl },
      );
      await this.alertmanager.start();
      const pusher = this.alertmanager;
      const silences = this.services.silences;
      silences.onChange(
        (silence, change) =>
          void pusher.mirrorSilence(silence, change, (id) => silences.setMirrorId(silence.id, id)),
      );
    }
  }

  /** Readiness: every backend answers. Returns the failures, empty when ready. */
  async check(): Promise<Record<string, string>> {
    const failures: Record<string, string> = {};
    const probes: Record<string, () => Promise<unknown>> = {
      database: () => this.db.manager.query('SELECT 1'),
      pubsub: () => this.pubsub.ping(),
      objectStore: () => this.store.ping(),
    };
    await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        try {
          await withTimeout(probe(), 3000, name);
        } catch (error) {
          failures[name] = (error as Error).message;
        }
      }),
    );
    return failures;
  }

  async close(): Promise<void> {
    this.heartbeat?.stop();
    this.replicationMonitor?.stop();
    await this.follower?.stop();
    await this.services.alarmEngine.stop();
    await this.discord?.stop();
    await this.alertmanager?.stop();
    this.gauges?.stop();
    await this.dispatcher?.stop();
    await this.stopLive();
    await this.worker?.stop();
    await this.services.exports.close();
    await this.journal?.close();
    await this.pubsub.close();
    if (this.db.dataSource.isInitialized) await this.db.dataSource.destroy();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
