import http from 'node:http';
import Database from 'better-sqlite3';
import { buildSchema, execute, parse, validate, type DocumentNode } from 'graphql';

// The baseline of bench:api: the same data and query served by a minimal node:http + graphql-js
// server with hand-batched SQL on the same driver (better-sqlite3). No framework, no auth, no
// per-field hooks: what the gateway is measured against.

const schema = buildSchema(`
  scalar DateTime
  scalar SafeInt
  type QualityFlag { subsystem: String! status: String! }
  type DataFile { name: String! sizeBytes: SafeInt cloudState: String }
  type Run { runNumber: Int! startedAt: DateTime files: [DataFile!]! qualityFlags: [QualityFlag!]! }
  type RunConnection { nodes: [Run!]! }
  type Query { runs(first: Int): RunConnection! }
`);

interface RunRow {
  id: number;
  runNumber: number;
  startedAt: string | null;
  files?: unknown[];
  qualityFlags?: unknown[];
}

export function startBaseline(file: string, port = 0): Promise<http.Server> {
  const db = new Database(file, { readonly: true });
  const runsStmt = db.prepare(
    'SELECT id, runNumber, startedAt FROM runs ORDER BY runNumber DESC LIMIT ?',
  );
  const root = {
    runs: ({ first }: { first: number }) => {
      const runs = (runsStmt.all(first) as RunRow[]).map((r) => ({
        ...r,
        startedAt: r.startedAt ? `${r.startedAt.replace(' ', 'T')}Z` : null,
      }));
      const ids = runs.map((r) => r.id);
      const marks = ids.map(() => '?').join(',');
      const files = db
        .prepare(
          `SELECT runId, name, sizeBytes, cloudState FROM data_files WHERE runId IN (${marks}) ORDER BY id`,
        )
        .all(...ids) as Array<{ runId: number }>;
      const flags = db
        .prepare(
          `SELECT runId, subsystem, status FROM quality_flags WHERE runId IN (${marks}) ORDER BY setAt, id`,
        )
        .all(...ids) as Array<{ runId: number; subsystem: string }>;
      const byId = new Map(
        runs.map((r) => [
          r.id,
          Object.assign(r, { files: [] as unknown[], qualityFlags: [] as unknown[] }),
        ]),
      );
      for (const f of files) byId.get(f.runId)!.files.push(f);
      const latest = new Map<string, { runId: number }>();
      for (const f of flags) latest.set(`${f.runId}/${f.subsystem}`, f);
      for (const f of latest.values()) byId.get(f.runId)!.qualityFlags.push(f);
      return { nodes: runs };
    },
  };
  const documents = new Map<string, DocumentNode>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const { query, variables } = JSON.parse(Buffer.concat(chunks).toString());
      let document = documents.get(query);
      if (!document) {
        document = parse(query);
        if (validate(schema, document).length > 0) throw new Error('invalid');
        documents.set(query, document);
      }
      const result = await execute({
        schema,
        document,
        rootValue: root,
        variableValues: variables,
      });
      const body = JSON.stringify(result);
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}
