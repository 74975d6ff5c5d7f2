import type { AuthChecker } from 'type-graphql';
import type { GatewayContext } from '../context';
import { ForbiddenError, UnauthenticatedError } from '../errors';
import { hasAnyRole, type Role } from './roles';

/** `@Authorized(roles)`: admins pass everywhere; others need one of the listed roles. */
export const authChecker: AuthChecker<GatewayContext, Role> = ({ context }, roles) => {
  if (!context.principal) throw new UnauthenticatedError();
  if (roles.length === 0 || hasAnyRole(context.principal, roles)) return true;
  throw new ForbiddenError(
    `requires role ${roles.join(' or ')} (you have ${context.principal.roles.join(', ') || 'none'})`,
  );
};
