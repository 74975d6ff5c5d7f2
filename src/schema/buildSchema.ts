import { lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { authChecker } from '../auth/authChecker';
import type { PubSub } from '../pubsub';
import { RESOLVERS } from '../resolvers';
import { DateTimeScalar } from './scalars';

/** The executable schema, built from the decorated classes. */
export function buildGatewaySchema(pubSub: PubSub): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: RESOLVERS,
    pubSub,
    authChecker,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: { forbidUnknownValues: false },
  });
}

/** The SDL committed as schema.graphql: sorted, so that it diffs cleanly. */
export function renderSchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
