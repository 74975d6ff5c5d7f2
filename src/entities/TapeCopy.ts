import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { TapeState } from '../schema/enums';
import { CreatedAtColumn, DateTimeColumn, EnumColumn, UpdatedAtColumn } from './columns';
import { DataFile } from './DataFile';

/** The custodial copy of a file at a tape endpoint. */
@ObjectType({ simpleResolvers: true, description: 'A copy of a file on tape.' })
@Entity('tape_copies')
@Index(['fileId', 'endpoint'], { unique: true })
@Index(['state'])
export class TapeCopy {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  fileId: number;

  @ManyToOne(() => DataFile, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'fileId' })
  file?: DataFile;

  @Field()
  @Column({ type: 'varchar', length: 255 })
  endpoint: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 1024, nullable: true })
  url: string | null;

  @Field(() => TapeState)
  @EnumColumn(TapeState, TapeState.QUEUED)
  state: TapeState;

  @Field(() => String, { nullable: true, description: 'adler32 read back from the tape endpoint.' })
  @Column({ type: 'varchar', length: 64, nullable: true })
  verifiedChecksum: string | null;

  @Field(() => Int)
  @Column({ type: 'int', default: 0 })
  attempts: number;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  lastError: string | null;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  verifiedAt: Date | null;

  @Field(() => Date)
  @CreatedAtColumn()
  createdAt: Date;

  @Field(() => Date)
  @UpdatedAtColumn()
  updatedAt: Date;
}
