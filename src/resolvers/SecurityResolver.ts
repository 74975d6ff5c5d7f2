import type { GraphQLResolveInfo } from 'graphql';
import { Arg, Args, Authorized, Ctx, ID, Info, Mutation, Query, Resolver } from 'type-graphql';
import { Role } from '../auth/roles';
import type { GatewayContext } from '../context';
import { ApiTokenRecord } from '../entities/ApiToken';
import { AuditConnection, PageArgs } from '../schema/connection';
import { ApiTokenInput, AuditFilterInput, CreatedApiToken } from '../schema/security';
import { selectsField } from './selection';
import { rowId } from './ids';

/** Admins manage API tokens and read the audit log. */
@Resolver()
export class SecurityResolver {
  @Authorized(Role.ADMIN)
  @Query(() => [ApiTokenRecord], { description: 'API tokens kept in the database (no secrets).' })
  apiTokens(
    @Arg('includeRevoked', { defaultValue: false }) includeRevoked: boolean,
    @Ctx() ctx: GatewayContext,
  ): Promise<ApiTokenRecord[]> {
    return ctx.services.apiTokens.list(includeRevoked);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => CreatedApiToken, {
    description: 'Creates an API token; its secret is in this answer and nowhere else.',
  })
  async createApiToken(
    @Arg('input') input: ApiTokenInput,
    @Ctx() ctx: GatewayContext,
  ): Promise<CreatedApiToken> {
    return ctx.services.apiTokens.create(input, ctx.principal.name);
  }

  @Authorized(Role.ADMIN)
  @Mutation(() => ApiTokenRecord, { description: 'Revokes an API token at once.' })
  revokeApiToken(
    @Arg('id', () => ID) id: string,
    @Ctx() ctx: GatewayContext,
  ): Promise<ApiTokenRecord> {
    return ctx.services.apiTokens.revoke(rowId(id, 'a token'));
  }

  @Authorized(Role.ADMIN)
  @Query(() => AuditConnection, { description: 'Every mutation, newest first.' })
  auditLog(
    @Arg('filter', () => AuditFilterInput, { nullable: true }) filter: AuditFilterInput | null,
    @Args() page: PageArgs,
    @Ctx() ctx: GatewayContext,
    @Info() info: GraphQLResolveInfo,
  ) {
    return ctx.services.audit.list(filter, page, { withTotal: selectsField(info, 'totalCount') });
  }
}
