import type { NonEmptyArray } from 'type-graphql';
import { AlarmResolver } from './AlarmResolver';
import { DataFileResolver } from './DataFileResolver';
import { MetricResolver } from './MetricResolver';
import { EventResolver } from './EventResolver';
import { JobResolver } from './JobResolver';
import { QualityResolver } from './QualityResolver';
import { RecoResolver } from './RecoResolver';
import { EventPreviewResolver, PreviewResolver, RunPreviewResolver } from './PreviewResolver';
import { SecurityResolver } from './SecurityResolver';
import { StorageResolver } from './StorageResolver';
import { RunResolver } from './RunResolver';
import { ReplicationResolver } from './ReplicationResolver';
import { CampaignResolver } from './CampaignResolver';
import {
  ClusterProvenanceResolver,
  FileProvenanceResolver,
  RunProvenanceResolver,
} from './ProvenanceResolver';

export const RESOLVERS: NonEmptyArray<new () => object> = [
  RunResolver,
  DataFileResolver,
  JobResolver,
  EventResolver,
  RecoResolver,
  QualityResolver,
  StorageResolver,
  MetricResolver,
  AlarmResolver,
  SecurityResolver,
  PreviewResolver,
  RunPreviewResolver,
  EventPreviewResolver,
  RunProvenanceResolver,
  ClusterProvenanceResolver,
  FileProvenanceResolver,
  ReplicationResolver,
  CampaignResolver,
];
