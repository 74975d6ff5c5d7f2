import type { NonEmptyArray } from 'type-graphql';
import { DataFileResolver } from './DataFileResolver';
import { EventResolver } from './EventResolver';
import { JobResolver } from './JobResolver';
import { RunResolver } from './RunResolver';

export const RESOLVERS: NonEmptyArray<new () => object> = [
  RunResolver,
  DataFileResolver,
  JobResolver,
  EventResolver,
];
