import type { NonEmptyArray } from 'type-graphql';
import { DataFileResolver } from './DataFileResolver';
import { EventResolver } from './EventResolver';
import { JobResolver } from './JobResolver';
import { QualityResolver } from './QualityResolver';
import { RecoResolver } from './RecoResolver';
import { StorageResolver } from './StorageResolver';
import { RunResolver } from './RunResolver';

export const RESOLVERS: NonEmptyArray<new () => object> = [
  RunResolver,
  DataFileResolver,
  JobResolver,
  EventResolver,
  RecoResolver,
  QualityResolver,
  StorageResolver,
];
