import { Field, ID, ObjectType } from 'type-graphql';
import { GraphQLJSON } from 'graphql-scalars';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { DateTimeColumn, JsonColumn, type JsonObject } from './columns';

/** One mutation as it was asked for: who, when, from where, with what (secrets removed). */
@ObjectType({ description: 'A mutation in the audit log.' })
@Entity('audit_log')
@Index(['at'])
@Index(['principal', 'at'])
export class AuditEntry {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field(() => Date) @DateTimeColumn() at: Date;

  @Field({ description: 'Who: "token:<fingerprint>", "oidc:<subject>" or "loopback".' })
  @Column({ type: 'varchar', length: 255 })
  principal: string;

  @Field({ description: "The caller's address as the gateway saw it." })
  @Column({ type: 'varchar', length: 64 })
  address: string;

  @Field({ description: 'The mutation fields, comma-separated, e.g. "startRun".' })
  @Column({ type: 'varchar', length: 255 })
  operation: string;

  @Field(() => String, { nullable: true })
  @Column({ type: 'varchar', length: 255, nullable: true })
  operationName: string | null;

  @Field(() => GraphQLJSON, { description: 'Arguments of each field, secrets replaced.' })
  @JsonColumn()
  arguments: JsonObject;

  @Field({ description: 'OK, or the first error code.' })
  @Column({ type: 'varchar', length: 64 })
  outcome: string;
}
