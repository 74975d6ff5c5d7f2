import {
  IsHexadecimal,
  IsOptional,
  Length,
  Max,
  MaxLength,
  Min,
  ValidateNested,
  ArrayMaxSize,
  Matches,
} from 'class-validator';
import { Field, InputType, Int } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import type { JsonObject } from '../entities/columns';
import { QualityStatus, RunState } from './enums';
import { SafeIntScalar } from './scalars';

const MAX_RUN_NUMBER = 2_147_483_647;

@InputType({ description: 'Sent by the DAQ when a run begins.' })
export class StartRunInput {
  @Field(() => Int) @Min(0) @Max(MAX_RUN_NUMBER) runNumber: number;
  @Field(() => Date, { nullable: true, description: 'Defaults to now.' }) startedAt?: Date | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(1024) description?:
    string | null;
  @Field(() => String, {
    nullable: true,
    description: 'Defaults to the type in "S003:DATA:…" descriptions.',
  })
  @IsOptional()
  @Matches(/^[A-Za-z][A-Za-z0-9_]{0,31}$/, {
    message: 'runType must be a word of at most 32 letters, digits or _',
  })
  runType?: string | null;
  @Field(() => Boolean, { nullable: true }) pedestal?: boolean | null;
  @Field(() => GraphQLJSON, { nullable: true }) attributes?: JsonObject | null;
}

@InputType({ description: 'A file the DAQ wrote for the run, in its local buffer.' })
export class DeclaredFileInput {
  @Field({ description: 'Path relative to DAQ_BUFFER_DIR (or absolute inside it).' })
  @Length(1, 1024)
  path: string;

  @Field(() => SafeIntScalar, { nullable: true }) @IsOptional() @Min(0) sizeBytes?: number | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsHexadecimal()
  @Length(32, 32, { message: 'md5 must be 32 hexadecimal characters' })
  md5?: string | null;
}

@InputType({ description: 'Sent by the DAQ when a run ends; starts the pipeline.' })
export class CloseRunInput {
  @Field(() => Int) @Min(0) @Max(MAX_RUN_NUMBER) runNumber: number;
  @Field(() => Date, { nullable: true, description: 'Defaults to now.' }) stoppedAt?: Date | null;
  @Field(() => Int, { nullable: true }) @IsOptional() @Min(0) eventCount?: number | null;
  @Field(() => [DeclaredFileInput], { nullable: true })
  @IsOptional()
  @ArrayMaxSize(1000)
  @ValidateNested({ each: true })
  files?: DeclaredFileInput[] | null;
  @Field(() => GraphQLJSON, {
    nullable: true,
    description: 'Merged into the run attributes (EOR values).',
  })
  attributes?: JsonObject | null;
  @Field(() => String, { nullable: true }) @IsOptional() @MaxLength(1024) description?:
    string | null;
}

@InputType({ description: 'Which runs to list; every condition must hold.' })
export class RunFilter {
  @Field(() => Int, { nullable: true }) minRunNumber?: number | null;
  @Field(() => Int, { nullable: true }) maxRunNumber?: number | null;
  @Field(() => Date, { nullable: true, description: 'Runs started at or after.' })
  startedFrom?: Date | null;
  @Field(() => Date, { nullable: true, description: 'Runs started before.' })
  startedTo?: Date | null;
  @Field(() => [String], { nullable: true }) runTypes?: string[] | null;
  @Field(() => Boolean, { nullable: true }) pedestal?: boolean | null;
  @Field(() => RunState, { nullable: true }) state?: RunState | null;
  @Field(() => [QualityStatus], { nullable: true }) quality?: QualityStatus[] | null;
  @Field(() => String, { nullable: true, description: 'Case-insensitive text in the description.' })
  @IsOptional()
  @MaxLength(200)
  descriptionContains?: string | null;
}
