import { registerEnumType } from 'type-graphql';

// Enums shared by the entities and the GraphQL schema. String values are what the database stores.

export enum RunState {
  RUNNING = 'RUNNING',
  CLOSED = 'CLOSED',
}

export enum RecoStatus {
  NONE = 'NONE',
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  DONE = 'DONE',
  FAILED = 'FAILED',
}

export enum QualityStatus {
  GOOD = 'GOOD',
  BAD = 'BAD',
  QUESTIONABLE = 'QUESTIONABLE',
  UNKNOWN = 'UNKNOWN',
}

export enum FlagSource {
  AUTO = 'AUTO',
  SHIFTER = 'SHIFTER',
}

export enum FileKind {
  RAW = 'RAW',
  RECO = 'RECO',
  PEDESTAL_MAP = 'PEDESTAL_MAP',
  /** A run's regions of interest (issue 20): enough to reconstruct again, ~1% of the raw bytes. */
  REDUCED = 'REDUCED',
}

/** What a reconstruction reads: the raw MIDAS files, or the run's reduced file. */
export enum RecoSource {
  RAW = 'RAW',
  REDUCED = 'REDUCED',
}

/** Where the DAQ's buffer copy of a file stands. */
export enum LocalState {
  /** Declared by closeRun, not yet checked. */
  EXPECTED = 'EXPECTED',
  PRESENT = 'PRESENT',
  MISSING = 'MISSING',
  DELETED = 'DELETED',
}

/** Replica states, as Rucio names them. */
export enum ReplicaState {
  COPYING = 'COPYING',
  AVAILABLE = 'AVAILABLE',
  BAD = 'BAD',
  DELETED = 'DELETED',
}

export enum TapeState {
  QUEUED = 'QUEUED',
  COPYING = 'COPYING',
  ON_TAPE = 'ON_TAPE',
  FAILED = 'FAILED',
  RECALLING = 'RECALLING',
  /** Was ON_TAPE, but a recall read other bytes than ingestion measured: never a replica again. */
  BAD = 'BAD',
}

/**
 * Job kinds that exist. Only kinds with a registered handler belong here: the worker refuses
 * to start when one is unhandled, so a kind is added together with its handler.
 */
export enum JobKind {
  INGEST = 'INGEST',
  PEDESTAL = 'PEDESTAL',
  RECONSTRUCT = 'RECONSTRUCT',
  TAPE_COPY = 'TAPE_COPY',
  TAPE_RECALL = 'TAPE_RECALL',
}

export enum JobState {
  QUEUED = 'QUEUED',
  RUNNING = 'RUNNING',
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
}

/** Where a job runs: the gateway's own workers, or a batch system (issue 18). */
export enum JobExecutor {
  LOCAL = 'LOCAL',
  SLURM = 'SLURM',
  HTCONDOR = 'HTCONDOR',
}

/** A reprocessing campaign's state, from its jobs (and from an admin's cancel or promote). */
export enum CampaignState {
  RUNNING = 'RUNNING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
  CANCELLED = 'CANCELLED',
  PROMOTED = 'PROMOTED',
}

export enum Severity {
  INFO = 'INFO',
  WARNING = 'WARNING',
  CRITICAL = 'CRITICAL',
}

export enum AlarmState {
  FIRING = 'FIRING',
  ACKNOWLEDGED = 'ACKNOWLEDGED',
  RESOLVED = 'RESOLVED',
}

/** What happened to an alarm (the alarmEvents subscription). */
export enum AlarmEventType {
  RAISED = 'RAISED',
  REPEATED = 'REPEATED',
  ACKNOWLEDGED = 'ACKNOWLEDGED',
  RESOLVED = 'RESOLVED',
}

export enum AlarmRuleKind {
  THRESHOLD = 'THRESHOLD',
  HEARTBEAT = 'HEARTBEAT',
  PIPELINE = 'PIPELINE',
  DQ_BAND = 'DQ_BAND',
}

export enum RunOrder {
  RUN_NUMBER_DESC = 'RUN_NUMBER_DESC',
  RUN_NUMBER_ASC = 'RUN_NUMBER_ASC',
  STARTED_AT_DESC = 'STARTED_AT_DESC',
  STARTED_AT_ASC = 'STARTED_AT_ASC',
}

registerEnumType(RunState, { name: 'RunState' });
registerEnumType(RecoStatus, { name: 'RecoStatus' });
registerEnumType(QualityStatus, { name: 'QualityStatus' });
registerEnumType(FlagSource, { name: 'FlagSource' });
registerEnumType(FileKind, { name: 'FileKind' });
registerEnumType(RecoSource, {
  name: 'RecoSource',
  description: "RAW: the MIDAS files; REDUCED: the run's reduced (region-of-interest) file.",
});
registerEnumType(LocalState, { name: 'LocalState' });
registerEnumType(ReplicaState, { name: 'ReplicaState' });
registerEnumType(TapeState, { name: 'TapeState' });
registerEnumType(JobKind, { name: 'JobKind' });
registerEnumType(JobState, { name: 'JobState' });
registerEnumType(JobExecutor, {
  name: 'JobExecutor',
  description:
    "LOCAL: the gateway's workers; SLURM, HTCONDOR: the batch system configured (BATCH).",
});
registerEnumType(CampaignState, {
  name: 'CampaignState',
  description:
    'RUNNING while jobs are queued or running; COMPLETED when all succeeded; FAILED when any failed for good; CANCELLED; PROMOTED once its version is the current one of its runs.',
});
registerEnumType(Severity, { name: 'Severity' });
registerEnumType(AlarmState, { name: 'AlarmState' });
registerEnumType(AlarmRuleKind, { name: 'AlarmRuleKind' });
registerEnumType(AlarmEventType, { name: 'AlarmEventType' });
registerEnumType(RunOrder, { name: 'RunOrder' });
