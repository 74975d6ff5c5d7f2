import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';
import { DataFile } from '../entities/DataFile';
import { Alarm } from '../entities/Alarm';
import { AuditEntry } from '../entities/AuditEntry';
import { Cluster } from '../entities/Cluster';
import { Event } from '../entities/Event';
import { Job } from '../entities/Job';
import { Run } from '../entities/Run';

@ObjectType({ simpleResolvers: true, description: 'Relay page information.' })
export class PageInfo {
  @Field() hasNextPage: boolean;
  @Field() hasPreviousPage: boolean;
  @Field(() => String, { nullable: true }) startCursor: string | null;
  @Field(() => String, { nullable: true }) endCursor: string | null;
}

@ArgsType()
export class PageArgs {
  @Field(() => Int, {
    nullable: true,
    description: 'Page size (default 50, at most MAX_PAGE_SIZE, 500 by default).',
  })
  first?: number | null;

  @Field(() => String, {
    nullable: true,
    description: 'Opaque cursor: endCursor of the previous page.',
  })
  after?: string | null;
}

/**
 * A Relay connection of `node` plus a flat `nodes` list, because Grafana's data paths cannot
 * walk `edges`. `totalCount` is computed only when selected.
 */
function Connection<T extends object>(node: ClassType<T>) {
  @ObjectType(`${node.name}Edge`, { simpleResolvers: true })
  class Edge {
    @Field() cursor: string;
    @Field(() => node) node: T;
  }

  @ObjectType({ simpleResolvers: true })
  abstract class ConnectionType {
    @Field(() => [Edge]) edges: Edge[];
    @Field(() => [node]) nodes: T[];
    @Field(() => PageInfo) pageInfo: PageInfo;
    @Field(() => Int, {
      nullable: true,
      description: 'Rows matching the filter (null unless selected).',
    })
    totalCount: number | null;
  }
  return ConnectionType;
}

@ObjectType({ simpleResolvers: true })
export class RunConnection extends Connection(Run) {}

@ObjectType({ simpleResolvers: true })
export class DataFileConnection extends Connection(DataFile) {}

@ObjectType({ simpleResolvers: true })
export class JobConnection extends Connection(Job) {}

@ObjectType({ simpleResolvers: true })
export class EventConnection extends Connection(Event) {}

@ObjectType({ simpleResolvers: true })
export class ClusterConnection extends Connection(Cluster) {}

@ObjectType({ simpleResolvers: true })
export class AlarmConnection extends Connection(Alarm) {}

@ObjectType({ simpleResolvers: true })
export class AuditConnection extends Connection(AuditEntry) {}
