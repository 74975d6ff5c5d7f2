import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { CreatedAtColumn } from './columns';

/** A PNG preview of a camera image, made now and then during reconstruction for the console. */
@ObjectType({ description: 'A camera image preview (8-bit PNG, pedestal subtracted, rebinned).' })
@Entity('event_previews')
@Index(['runId', 'id'])
export class EventPreview {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => Int) @Column({ type: 'int' }) runId: number;
  @Field(() => Int) @Column({ type: 'int' }) eventId: number;
  @Field(() => Int) @Column({ type: 'int' }) width: number;
  @Field(() => Int) @Column({ type: 'int' }) height: number;

  @Field(() => Int, { description: 'Camera pixels per preview pixel along each axis.' })
  @Column({ type: 'int' })
  rebin: number;

  @Column({ type: 'varchar', length: 512 })
  objectKey: string;

  @Field(() => Date) @CreatedAtColumn() createdAt: Date;
}
