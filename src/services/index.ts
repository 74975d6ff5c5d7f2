import type { Database } from '../db/Database';
import type { JobQueue } from '../jobs/JobQueue';
import type { PubSub } from '../pubsub';
import type { ObjectStore } from '../storage/ObjectStore';
import type { DqBand } from '../reco/dq';
import { AlarmEngine } from './AlarmEngine';
import { AlarmRuleService } from './AlarmRuleService';
import { AlarmService } from './AlarmService';
import { ApiTokenService } from './ApiTokenService';
import { AuditService } from './AuditService';
import { DqService } from './DqService';
import { EventService } from './EventService';
import type { UrlSigner } from '../storage/signedUrls';
import { EventBytesService } from './EventBytesService';
import { ExportService, type ExportOptions } from './ExportService';
import { FileService } from './FileService';
import { IngestService } from './IngestService';
import { JobService } from './JobService';
import { MetricService } from './MetricService';
import { PedestalService } from './PedestalService';
import { PreviewService } from './PreviewService';
import { RecoService } from './RecoService';
import { RetentionService } from './RetentionService';
import { StorageService } from './StorageService';
import { TapeService } from './TapeService';
import type { TapeStore } from '../tape';
import { ReplicationService } from './ReplicationService';
import { ProvenanceService } from './ProvenanceService';
import { QualityService } from './QualityService';
import { RunService } from './RunService';
import { SilenceService } from './SilenceService';
import { CampaignService } from './CampaignService';
import { BatchJobService } from '../batch/BatchJobService';
import type { BatchSettings } from '../config/batch';
import type { Fe55Options } from '../reco/dq';
import type { RecoParameters } from '../reco/image';
import { JobExecutor } from '../schema/enums';

export interface Services {
  runs: RunService;
  files: FileService;
  eventBytes: EventBytesService;
  jobs: JobService;
  quality: QualityService;
  alarms: AlarmService;
  silences: SilenceService;
  ingest: IngestService;
  events: EventService;
  exports: ExportService;
  pedestals: PedestalService;
  dq: DqService;
  reco: RecoService;
  tape: TapeService;
  retention: RetentionService;
  storage: StorageService;
  metrics: MetricService;
  alarmRules: AlarmRuleService;
  alarmEngine: AlarmEngine;
  apiTokens: ApiTokenService;
  audit: AuditService;
  previews: PreviewService;
  provenance: ProvenanceService;
  replication: ReplicationService;
  campaigns: CampaignService;
  /** The API of batch attempts; null without BATCH. */
  batchJobs: BatchJobService | null;
}

export function createServices(deps: {
  db: Database;
  queue: JobQueue;
  pubsub: PubSub;
  store: ObjectStore;
  signer: UrlSigner;
  daqBufferDir: string;
  site: string;
  maxPageSize: number;
  export: Omit<ExportOptions, 'version'>;
  dqBands: readonly DqBand[];
  recoParameters: RecoParameters;
  cameraBank: string;
  fe55: Fe55Options;
  jobMaxAttempts: number;
  jobLeaseMs: number;
  batch: BatchSettings | null;
  tape: TapeStore | null;
  retention: {
    buffer: 'off' | 'after-cloud' | 'after-tape';
    cloudDays: number;
    cloudRaw: 'keep' | 'when-reduced';
  };
  replication: ReplicationService;
  /** A replica gateway: its database is read-only (the audit log goes to the logs). */
  readOnly?: boolean;
}): Services {
  const { db, queue, pubsub, store, daqBufferDir, maxPageSize } = deps;
  const quality = new QualityService(db);
  const alarms = new AlarmService(db, pubsub, maxPageSize);
  const alarmRules = new AlarmRuleService(db);
  const storage = new StorageService(db);
  const runs = new RunService(db, queue, pubsub, { daqBufferDir, maxPageSize });
  const recoVersion = deps.recoParameters.version;
  const pedestals = new PedestalService(db, store);
  const dq = new DqService(db, quality, alarms, deps.dqBands);
  const { batch } = deps;
  return {
    runs,
    files: new FileService(db, store, maxPageSize),
    jobs: new JobService(db, queue, maxPageSize),
    quality,
    alarms,
    silences: new SilenceService(db),
    ingest: new IngestService(store, daqBufferDir),
    events: new EventService(db, maxPageSize),
    exports: new ExportService(db, { version: recoVersion, ...deps.export }),
    eventBytes: new EventBytesService(db, store, deps.signer),
    pedestals,
    dq,
    reco: new RecoService(db, queue, runs, { maxPageSize, version: recoVersion }),
    tape: new TapeService(db, queue, deps.tape),
    retention: new RetentionService(db, store, deps.tape, {
      ...deps.retention,
      bufferDir: daqBufferDir,
    }),
    storage,
    alarmRules,
    alarmEngine: new AlarmEngine(db, alarmRules, alarms, storage),
    metrics: new MetricService(db, pubsub),
    apiTokens: new ApiTokenService(db, pubsub),
    audit: new AuditService(db, maxPageSize, deps.readOnly),
    previews: new PreviewService(db, store, deps.site),
    provenance: new ProvenanceService(db),
    replication: deps.replication,
    campaigns: new CampaignService(db, queue, pubsub, runs, dq, {
      parameters: deps.recoParameters,
      batchExecutor: batch?.system ?? JobExecutor.LOCAL,
      maxAttempts: deps.jobMaxAttempts,
    }),
    batchJobs: batch
      ? new BatchJobService(db, store, queue, runs, pedestals, dq, {
          site: deps.site,
          cameraBank: deps.cameraBank,
          parameters: deps.recoParameters,
          fe55: deps.fe55,
          leaseMs: deps.jobLeaseMs,
          urlTtlSeconds: (batch.timeLimitMinutes + 30) * 60,
          system: batch.system.toLowerCase(),
        })
      : null,
  };
}
