import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PubSub } from '../../src/pubsub';
import { buildGatewaySchema, renderSchema } from '../../src/schema/buildSchema';

describe('schema.graphql', () => {
  it('matches the schema built from the decorated classes (run `npm run schema` when it does not)', async () => {
    const pubsub = PubSub.inProcess();
    const built = renderSchema(await buildGatewaySchema(pubsub));
    const committed = fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    expect(committed).toBe(built);
  });

  it('keeps the names external clients depend on', () => {
    const sdl = fs.readFileSync(path.join(__dirname, '..', '..', 'schema.graphql'), 'utf8');
    for (const name of [
      'run(runNumber: Int!): Run',
      'runUpdated(runNumber: Int): Run!',
      'startRun(input: StartRunInput!): Run!',
      'closeRun(input: CloseRunInput!): Run!',
      'scalar DateTime',
      'scalar SafeInt',
      'scalar JSON',
    ]) {
      expect(sdl).toContain(name);
    }
  });
});
