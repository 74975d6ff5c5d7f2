import { GraphQLJSON } from 'graphql-scalars';
import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { DateTimeColumn, JsonColumn, type JsonObject } from './columns';

/** A file a reconstruction read or wrote, as it was then. */
@ObjectType({ description: 'A file a reconstruction read or wrote, with its MD5 at the time.' })
export class ProvenanceFile {
  @Field(() => Int, { nullable: true, description: 'DataFile id (null if since removed).' })
  fileId: number | null;

  @Field() name: string;
  @Field({ description: 'RAW, PEDESTAL_MAP, RECO, …' }) kind: string;
  @Field(() => String, { nullable: true }) md5: string | null;
}

/**
 * What made one reconstruction of a run (RECONSTRUCT or PEDESTAL): the parameters, the code, the
 * pedestal, the bytes read and written, where it ran, when. One row per successful job attempt;
 * a run reconstructed again keeps every earlier record.
 */
@ObjectType({
  description:
    'The provenance of one reconstruction of a run: parameters, code, pedestal, input and output files (with MD5), executor, times.',
})
@Entity('reconstructions')
@Index(['runId', 'version'])
export class Reconstruction {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Column({ type: 'int' }) runId: number;
  @Field(() => Int) @Column({ type: 'int' }) runNumber: number;

  @Field({ description: 'RECONSTRUCT or PEDESTAL.' })
  @Column({ type: 'varchar', length: 16 })
  kind: string;

  @Field(() => Int, { description: 'Reconstruction parameter version.' })
  @Column({ type: 'int' })
  version: number;

  @Field(() => GraphQLJSON, { description: 'The full parameter set.' })
  @JsonColumn()
  parameters: JsonObject;

  @Field({ description: 'SHA-256 of the parameter set as canonical JSON (keys sorted).' })
  @Column({ type: 'varchar', length: 64 })
  parametersHash: string;

  @Field({ description: 'cygno-gateway package version.' })
  @Column({ type: 'varchar', length: 32 })
  codeVersion: string;

  @Field(() => String, { nullable: true, description: 'Git commit of the code, when known.' })
  @Column({ type: 'varchar', length: 40, nullable: true })
  codeCommit: string | null;

  @Field(() => Int, { nullable: true, description: 'The pedestal run whose map was subtracted.' })
  @Column({ type: 'int', nullable: true })
  pedestalRunNumber: number | null;

  @Field(() => String, { nullable: true, description: 'MD5 of that pedestal map file.' })
  @Column({ type: 'varchar', length: 32, nullable: true })
  pedestalMd5: string | null;

  @Field(() => [ProvenanceFile], { description: 'The files read (raw files), as they were.' })
  @JsonColumn()
  inputs: ProvenanceFile[];

  @Field(() => [ProvenanceFile], { description: 'The files written, as written.' })
  @JsonColumn()
  outputs: ProvenanceFile[];

  @Field(() => GraphQLJSON, {
    description: 'Where it ran: host, process, threads, the job and its attempt.',
  })
  @JsonColumn()
  executor: JsonObject;

  @Field(() => Date) @DateTimeColumn() startedAt: Date;
  @Field(() => Date) @DateTimeColumn() finishedAt: Date;
}
