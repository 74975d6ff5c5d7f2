import type { Principal } from './auth/roles';
import type { Loaders } from './loaders';
import type { Services } from './services';

/** What every resolver receives: who asks, the services, and this request's loaders. */
export interface GatewayContext {
  principal: Principal;
  /** The caller's address, for the audit log. */
  address?: string;
  services: Services;
  loaders: Loaders;
}
