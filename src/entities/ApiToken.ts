import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { Role } from '../auth/roles';
import { CreatedAtColumn, DateTimeColumn, JsonColumn } from './columns';

/**
 * A static API token for the DAQ, Grafana or a bot. Only the SHA-256 of the secret is stored;
 * the secret itself is shown once, when the token is created.
 */
@ObjectType('ApiToken', { description: 'A static API token (its secret is never readable).' })
@Entity('api_tokens')
@Index(['sha256'], { unique: true })
export class ApiTokenRecord {
  @Field(() => ID)
  @PrimaryGeneratedColumn()
  id: number;

  @Field({ description: 'What the token is for, e.g. "grafana" or "daq-lngs".' })
  @Column({ type: 'varchar', length: 128 })
  name: string;

  /** Hex SHA-256 of the secret: enough to recognise it, useless to present. */
  @Column({ type: 'varchar', length: 64 })
  sha256: string;

  @Field({ description: 'First characters of the hash: names the token in logs and audit.' })
  @Column({ type: 'varchar', length: 16 })
  fingerprint: string;

  @Field(() => [Role])
  @JsonColumn()
  roles: Role[];

  @Field()
  @Column({ type: 'varchar', length: 255 })
  createdBy: string;

  @Field(() => Date) @CreatedAtColumn() createdAt: Date;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  expiresAt: Date | null;

  @Field(() => Date, { nullable: true })
  @DateTimeColumn({ nullable: true })
  revokedAt: Date | null;
}
