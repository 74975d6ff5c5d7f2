import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { GraphQLJSON } from 'graphql-scalars';
import { CreatedAtColumn, DateTimeColumn, JsonColumn } from './columns';

/** Mutes matching alarms for a time window (Alertmanager's silence). */
@ObjectType({
  description: 'A silence: alarms whose labels match are not dispatched in the window.',
})
@Entity('silences')
@Index(['endsAt'])
export class Silence {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => GraphQLJSON, { description: 'Label name → exact value (or /regex/).' })
  @JsonColumn()
  matchers: Record<string, string>;

  @Field(() => Date) @DateTimeColumn() startsAt: Date;
  @Field(() => Date) @DateTimeColumn() endsAt: Date;

  @Field()
  @Column({ type: 'varchar', length: 255 })
  createdBy: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'text', nullable: true })
  comment: string | null;

  @Field(() => Date) @CreatedAtColumn() createdAt: Date;

  @Field(() => String, {
    nullable: true,
    description: 'The id of its copy in Alertmanager (ALERTMANAGER_URL), once mirrored.',
  })
  @Column({ type: 'varchar', length: 64, nullable: true })
  alertmanagerSilenceId: string | null;
}
