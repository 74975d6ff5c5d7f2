import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { WebSocketServer } from 'ws';
import { Authenticator } from './auth/authenticate';
import { authConfigured, type Config } from './config';
import type { GatewayContext } from './context';
import { AppError } from './errors';
import { alertmanagerRoutes } from './http/alertmanager';
import { consoleRoutes } from './http/console';
import { healthRoutes } from './http/health';
import { plainJsonStatusPlugin } from './http/jsonStatus';
import { GatewayMetrics } from './http/prometheus';
import { serveGraphqlWs } from './subscriptions/wsTransport';
import { gatewayWsOptions } from './subscriptions/wsOptions';
import { apolloGuard } from './security/apolloGuard';
import { auditRefusedMutation } from './security/auditRefusal';
import { OperationGuard } from './security/operationGuard';
import { eventBytesRoutes } from './http/eventBytes';
import { exportRoutes } from './http/exports';
import { provenanceRoutes } from './http/provenance';
import { replicaRefusals } from './http/replicaRefusals';
import { objectRoutes } from './http/objects';
import { batchJobRoutes } from './http/batchJobs';
import { createLoaders } from './loaders';
import { logger } from './logger';
import { Runtime, type RuntimeExtras } from './runtime';
import { buildGatewaySchema } from './schema/buildSchema';
import { formatError } from './schema/formatError';

const BODY_LIMIT = '1mb';

/** The gateway: GraphQL over HTTP and graphql-ws on one port, health probes, signed downloads. */
export class GatewayServer {
  private readonly log = logger('server');

  private constructor(
    readonly runtime: Runtime,
    private readonly httpServer: http.Server,
    private readonly apollo: ApolloServer<GatewayContext>,
    private readonly stopWs: () => Promise<void>,
  ) {}

  /** Opens the runtime, starts the in-process workers (config.workers) and listens. */
  static async start(config: Config, extras: RuntimeExtras = {}): Promise<GatewayServer> {
    const log = logger('server');
    const runtime = await Runtime.open(config, extras);
    try {
      const schema = await buildGatewaySchema(runtime.pubsub);
      const app = express();
      app.disable('x-powered-by');
      const httpServer = http.createServer(app);

      const wsServer = new WebSocketServer({
        server: httpServer,
        path: '/graphql',
        maxPayload: 1 << 20,
      });
      const authenticator = new Authenticator(config, runtime.services.apiTokens);
      authenticator.start();
      const guard = new OperationGuard(config, runtime.pubsub);
      const wsHandle = serveGraphqlWs(
        gatewayWsOptions({
          schema,
          authenticator,
          guard,
          services: runtime.services,
          shared: config.sharedSubscriptions,
          maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
        }),
        wsServer,
      );

      const metrics = new GatewayMetrics(runtime);
      const apollo = new ApolloServer<GatewayContext>({
        schema,
        formatError,
        introspection: true,
        includeStacktraceInErrorResponses: false,
        // Apollo's CSRF guard refuses plain GETs, which the GraphQL-over-HTTP spec and Grafana use.
        // It is not needed here: mutations are refused over GET, POST bodies must be
        // application/json (a preflighted type), and credentials are bearer tokens, never cookies.
        csrfPrevention: false,
        // Compact JSON: Apollo's default pretty-prints every response, a third more bytes.
        stringifyResult: (result) => JSON.stringify(result),
        // Cache-control bookkeeping and the landing page cost per request and serve nobody here.
        plugins: [
          ApolloServerPluginDrainHttpServer({ httpServer }),
          ApolloServerPluginCacheControlDisabled(),
          ApolloServerPluginLandingPageDisabled(),
          metrics.apolloPlugin(),
          apolloGuard(
            guard,
            runtime.services.audit,
            config.gatewayRole === 'replica' ? config.primaryUrl : undefined,
          ),
          plainJsonStatusPlugin(),
        ],
      });
      await apollo.start();

      app.use(healthRoutes(runtime, () => authenticator.idpState()));
      app.use(consoleRoutes());
      app.use(metrics.routes());
      app.use(objectRoutes(runtime.store, runtime.signer));
      app.use(eventBytesRoutes(runtime.services.eventBytes));
      app.use(exportRoutes(schema, authenticator, runtime.services.exports, metrics.recordExport));
      app.use(provenanceRoutes(authenticator, runtime.services.provenance));
      if (runtime.services.batchJobs && config.gatewayRole === 'primary')
        app.use(batchJobRoutes(runtime.services.batchJobs));
      app.use(
        config.gatewayRole === 'replica'
          ? replicaRefusals(config.primaryUrl!)
          : alertmanagerRoutes(authenticator, runtime.services.alarms),
      );
      app.use(
        '/graphql',
        express.json({
          limit: BODY_LIMIT,
          type: ['application/json', 'application/graphql-response+json'],
        }),
        expressMiddleware(apollo, {
          context: async ({ req }): Promise<GatewayContext> => ({
            principal: await authenticator
              .authenticate({ authorization: req.headers.authorization })
              .catch(async (error: AppError) => {
                await auditRefusedMutation(
                  runtime.services.audit,
                  req.body,
                  req.socket.remoteAddress,
                  error,
                );
                throw error;
              }),
            address: req.socket.remoteAddress,
            services: runtime.services,
            loaders: createLoaders(runtime.services),
          }),
        }),
      );
      app.use(jsonErrors);

      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen(config.port, config.host, () => resolve());
      });
      const server = new GatewayServer(runtime, httpServer, apollo, async () => {
        await wsHandle.dispose();
      });
      if (!config.publicUrlGiven) runtime.signer.setPublicUrl(server.url);
      await runtime.startWorkers();
      await runtime.startBackground();
      if (!authConfigured(config)) {
        log.warn(
          'no authentication configured (API_TOKENS, OIDC_ISSUER, AUTH_REQUIRED): listening on loopback only, and every local client is admin',
        );
      }
      log.info(
        {
          url: server.url,
          role: config.gatewayRole,
          database: config.databaseUrl.replace(/\/\/[^@]*@/, '//***@'),
          store: runtime.store.location,
        },
        'gateway listening',
      );
      return server;
    } catch (error) {
      await runtime.close();
      throw error;
    }
  }

  get port(): number {
    return (this.httpServer.address() as AddressInfo).port;
  }

  get url(): string {
    const address = this.httpServer.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `http://${host}:${address.port}`;
  }

  async close(): Promise<void> {
    await this.stopWs();
    await this.apollo.stop();
    await this.runtime.close();
    this.log.info('gateway stopped');
  }
}

/** Errors outside GraphQL (body too large, bad JSON) as JSON with a code, never an HTML page. */
function jsonErrors(
  error: Error & { status?: number; type?: string },
  _req: express.Request,
  res: express.Response,
  _next: express.NextFunction,
): void {
  const status = error.status ?? 500;
  const code =
    error instanceof AppError
      ? String(error.extensions.code)
      : status === 413
        ? 'PAYLOAD_TOO_LARGE'
        : status < 500
          ? 'BAD_REQUEST'
          : 'INTERNAL_SERVER_ERROR';
  if (status >= 500) logger('server').error({ err: error }, 'request failed');
  res.status(status).json({
    errors: [
      { message: status < 500 ? error.message : 'Internal server error', extensions: { code } },
    ],
  });
}
