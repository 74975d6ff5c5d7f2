import { Field, InputType, ObjectType } from 'type-graphql';
import { ArrayMinSize, Length } from 'class-validator';
import { Role } from '../auth/roles';
import { ApiTokenRecord } from '../entities/ApiToken';

@InputType({ description: 'A new static API token.' })
export class ApiTokenInput {
  @Field({ description: 'What the token is for, e.g. "grafana" or "daq-lngs".' })
  @Length(1, 128)
  name: string;

  @Field(() => [Role])
  @ArrayMinSize(1)
  roles: Role[];

  @Field(() => Date, { nullable: true, description: 'When it stops working (none: never).' })
  expiresAt?: Date | null;
}

@ObjectType({ description: 'A token just created: its secret is shown here, once.' })
export class CreatedApiToken {
  @Field({ description: 'The bearer token. Store it now: the gateway keeps only its hash.' })
  secret: string;

  @Field(() => ApiTokenRecord)
  token: ApiTokenRecord;
}

@InputType()
export class AuditFilterInput {
  @Field(() => String, { nullable: true, description: 'Exactly this principal.' })
  principal?: string | null;

  @Field(() => String, { nullable: true, description: 'Mutation names containing this text.' })
  operation?: string | null;

  @Field(() => Date, { nullable: true }) from?: Date | null;
  @Field(() => Date, { nullable: true }) to?: Date | null;
}
