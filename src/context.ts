import type { Principal } from './auth/roles';
import type { Loaders } from './loaders';
import type { Services } from './services';

/** What every resolver receives: who asks, the services, and this request's loaders. */
export interface GatewayContext {
  principal: Principal;
  /** The caller's address, for the audit log. */
  address?: string;
  /**
   * Over graphql-ws: sends a pre-serialized `next` message of this subscription straight to its
   * socket, so that shared subscriptions serialize each event once for all their subscribers.
   */
  delivery?: { sendNext(payloadJson: string): void };
  services: Services;
  loaders: Loaders;
}
