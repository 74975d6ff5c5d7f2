import { Field, Int, ObjectType } from 'type-graphql';
import { Run } from '../entities/Run';
import { FileKind, JobKind } from './enums';
import { SafeIntScalar } from './scalars';

@ObjectType({ description: 'Raw files and bytes in one location and state.' })
export class LocationSummary {
  @Field({ description: 'BUFFER (DAQ disk), CLOUD (object store) or TAPE.' }) location: string;
  @Field({ description: 'LocalState, ReplicaState or TapeState.' }) state: string;
  @Field(() => Int) files: number;
  @Field(() => SafeIntScalar) bytes: number;
}

@ObjectType({ description: 'Files of one kind available on the cloud store.' })
export class KindSummary {
  @Field(() => FileKind) kind: FileKind;
  @Field(() => Int) files: number;
  @Field(() => SafeIntScalar) bytes: number;
}

@ObjectType({ description: 'Work waiting at one step of the pipeline.' })
export class BacklogEntry {
  @Field(() => JobKind) kind: JobKind;
  @Field(() => Int, { description: 'Runs with a job of this kind queued or running.' })
  runs: number;
  @Field(() => Int, { description: 'Jobs of this kind that failed for good.' }) failed: number;
}

@ObjectType({ description: 'The data replica dashboard.' })
export class StorageSummary {
  @Field(() => [LocationSummary]) locations: LocationSummary[];
  @Field(() => [KindSummary], {
    description:
      'What the cloud store holds, by kind: RAW against REDUCED (regions of interest) shows what reduction saves.',
  })
  cloudByKind: KindSummary[];
  @Field(() => [BacklogEntry]) backlog: BacklogEntry[];
  @Field(() => Run, {
    nullable: true,
    description: 'The oldest closed run with a raw file not verified on tape.',
  })
  oldestRunNotOnTape: Run | null;
  @Field(() => Date) generatedAt: Date;
}
