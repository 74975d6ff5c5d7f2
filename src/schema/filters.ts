import { IsOptional, MaxLength } from 'class-validator';
import { Field, Float, ID, InputType, Int } from 'type-graphql';
import { SafeIntScalar } from './scalars';
import { FileKind, JobKind, JobState, LocalState, ReplicaState } from './enums';

@InputType({ description: 'Which files to list.' })
export class FileFilter {
  @Field(() => Int, { nullable: true }) runNumber?: number | null;
  @Field(() => [FileKind], { nullable: true }) kinds?: FileKind[] | null;
  @Field(() => [ReplicaState], { nullable: true }) cloudStates?: ReplicaState[] | null;
  @Field(() => [LocalState], { nullable: true }) localStates?: LocalState[] | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(255) nameContains?:
    string | null;
}

@InputType({ description: 'Which jobs to list.' })
export class JobFilter {
  @Field(() => Int, { nullable: true }) runNumber?: number | null;
  @Field(() => [JobKind], { nullable: true }) kinds?: JobKind[] | null;
  @Field(() => [JobState], { nullable: true }) states?: JobState[] | null;
  @Field(() => [ID], { nullable: true }) ids?: string[] | null;
}

@InputType({ description: 'Which events of a run to list; every condition must hold.' })
export class EventFilter {
  @Field(() => [Int], { nullable: true }) eventIds?: number[] | null;
  @Field(() => SafeIntScalar, { nullable: true }) minSerial?: number | null;
  @Field(() => SafeIntScalar, { nullable: true }) maxSerial?: number | null;
  @Field(() => Date, { nullable: true, description: 'Events at or after.' }) from?: Date | null;
  @Field(() => Date, { nullable: true, description: 'Events before.' }) to?: Date | null;
  @Field(() => String, { nullable: true, description: 'Events carrying this bank (e.g. CAM0).' })
  @IsOptional()
  @MaxLength(4)
  bankName?: string | null;
}

@InputType({ description: 'Which clusters to list (all bounds inclusive).' })
export class ClusterFilter {
  @Field(() => Int, { nullable: true }) runNumberFrom?: number | null;
  @Field(() => Int, { nullable: true }) runNumberTo?: number | null;
  @Field(() => [String], { nullable: true, description: 'Run types (DATA, CAL, …).' })
  runTypes?: string[] | null;
  @Field(() => Boolean, { nullable: true, description: 'Only runs whose quality is GOOD.' })
  onlyGoodRuns?: boolean | null;
  @Field(() => Int, {
    nullable: true,
    description: 'Reconstruction version (default: the current one).',
  })
  recoVersion?: number | null;
  @Field(() => Float, { nullable: true }) minIntegral?: number | null;
  @Field(() => Float, { nullable: true }) maxIntegral?: number | null;
  @Field(() => Int, { nullable: true }) minSize?: number | null;
  @Field(() => Int, { nullable: true }) maxSize?: number | null;
  @Field(() => Float, { nullable: true }) minLength?: number | null;
  @Field(() => Float, { nullable: true }) maxLength?: number | null;
}
