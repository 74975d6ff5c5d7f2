import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { DateTimeColumn } from './columns';
import { DataFile } from './DataFile';

/** The record of freeing one copy of a file: which, when, why and by whom. Never deleted. */
@ObjectType({ simpleResolvers: true, description: 'A copy of a file that was freed, and why.' })
@Entity('file_deletions')
@Index(['fileId'])
export class FileDeletion {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => Int)
  @Column({ type: 'int' })
  fileId: number;

  @ManyToOne(() => DataFile, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'fileId' })
  file?: DataFile;

  @Field({ description: 'BUFFER (the DAQ disk) or CLOUD (the object store).' })
  @Column({ type: 'varchar', length: 8 })
  location: string;

  @Field()
  @Column({ type: 'varchar', length: 1024 })
  reason: string;

  @Field()
  @Column({ type: 'varchar', length: 255 })
  deletedBy: string;

  @Field(() => Date)
  @DateTimeColumn()
  deletedAt: Date;
}
