import { Alarm } from './Alarm';
import { AlarmRule } from './AlarmRule';
import { ApiTokenRecord } from './ApiToken';
import { AuditEntry } from './AuditEntry';
import { Campaign } from './Campaign';
import { Cluster } from './Cluster';
import { DataFile } from './DataFile';
import { DqMetric } from './DqMetric';
import { Event } from './Event';
import { EventPreview } from './EventPreview';
import { EventSummary } from './EventSummary';
import { Reconstruction } from './Reconstruction';
import { FileDeletion } from './FileDeletion';
import { Job } from './Job';
import { LiveFollow } from './LiveFollow';
import { MetricSample } from './MetricSample';
import { QualityFlag } from './QualityFlag';
import { Run } from './Run';
import { Silence } from './Silence';
import { TapeCopy } from './TapeCopy';

export {
  Alarm,
  AlarmRule,
  ApiTokenRecord,
  AuditEntry,
  Campaign,
  Cluster,
  DataFile,
  DqMetric,
  Event,
  EventPreview,
  EventSummary,
  FileDeletion,
  Job,
  LiveFollow,
  MetricSample,
  QualityFlag,
  Reconstruction,
  Run,
  Silence,
  TapeCopy,
};

/** Every entity, for the DataSource. */
export const ENTITIES = [
  Run,
  DataFile,
  TapeCopy,
  Event,
  FileDeletion,
  Cluster,
  QualityFlag,
  DqMetric,
  Job,
  MetricSample,
  Alarm,
  AlarmRule,
  Silence,
  ApiTokenRecord,
  AuditEntry,
  EventPreview,
  Reconstruction,
  Campaign,
  EventSummary,
  LiveFollow,
];
