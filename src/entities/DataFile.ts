import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { FileKind, LocalState, ReplicaState } from '../schema/enums';
import { SafeIntScalar } from '../schema/scalars';
import { BigIntColumn, CreatedAtColumn, EnumColumn, UpdatedAtColumn } from './columns';
import { Run } from './Run';

/** A file of a run (raw MIDAS, reconstruction output, pedestal map) and where its replicas are. */
@ObjectType({
  simpleResolvers: true,
  description: 'A file of a run and the state of its replicas.',
})
@Entity('data_files')
@Index(['runId', 'name'], { unique: true })
@Index(['cloudState'])
export class DataFile {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  runId: number;

  @ManyToOne(() => Run, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'runId' })
  run?: Run;

  @Field()
  @Column({ type: 'varchar', length: 255 })
  name: string;

  @Field(() => FileKind)
  @EnumColumn(FileKind, FileKind.RAW)
  kind: FileKind;

  @Field(() => SafeIntScalar, {
    nullable: true,
    description: 'Size in bytes (declared, then measured).',
  })
  @BigIntColumn({ nullable: true })
  sizeBytes: number | null;

  @Field(() => String, { nullable: true, description: 'MD5 declared by the DAQ.' })
  @Column({ type: 'varchar', length: 32, nullable: true })
  declaredMd5: string | null;

  @Field(() => String, { nullable: true, description: 'MD5 measured by the gateway.' })
  @Column({ type: 'varchar', length: 32, nullable: true })
  md5: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 8, nullable: true })
  adler32: string | null;

  @Field(() => String, { nullable: true, description: 'Path in the DAQ buffer.' })
  @Column({ type: 'varchar', length: 1024, nullable: true })
  localPath: string | null;

  @Field(() => LocalState)
  @EnumColumn(LocalState, LocalState.EXPECTED)
  localState: LocalState;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 255, nullable: true })
  bucket: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 1024, nullable: true })
  objectKey: string | null;

  @Field(() => ReplicaState, {
    nullable: true,
    description: 'Null until a cloud copy is attempted.',
  })
  @EnumColumn(ReplicaState, undefined, { nullable: true })
  cloudState: ReplicaState | null;

  @Field(() => Date)
  @CreatedAtColumn()
  createdAt: Date;

  @Field(() => Date)
  @UpdatedAtColumn()
  updatedAt: Date;
}
