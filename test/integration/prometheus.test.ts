import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Topic } from '../../src/pubsub';
import { Severity } from '../../src/schema/enums';
import { startTestGateway, type TestGateway } from '../support/gateway';
import { smallMidasRun } from '../support/midasFixtures';
import { waitFor } from '../support/wait';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

/** The value of one sample line of the exposition format, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics (Prometheus)', () => {
  it('exposes queue depth, job durations, ingest bytes, alarms and GraphQL timings', async () => {
    const content = smallMidasRun(801);
    gw.writeBufferFile('run00801.mid', content);
    const md5 = createHash('md5').update(content).digest('hex');
    await gw.gql(
      `mutation { closeRun(input: { runNumber: 801, files: [{ path: "run00801.mid", md5: "${md5}" }] }) { id } }`,
    );
    await waitFor(async () => {
      const jobs = (
        await gw.gql(`{ jobs(filter: { runNumber: 801, kinds: [INGEST] }) { nodes { state } } }`)
      ).data.jobs.nodes;
      return jobs[0]?.state === 'SUCCEEDED';
    }, 'the ingestion');
    await gw.server.runtime.services.alarms.raise({
      fingerprint: 'prom-test',
      name: 'test',
      severity: Severity.WARNING,
      source: 'test',
      message: 'x',
    });
    await gw.gql(`query RunsForTest { runs { totalCount } }`);

    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(sample(text, 'cygno_jobs{kind="INGEST",state="SUCCEEDED"}')).toBe(1);
    expect(sample(text, 'cygno_ingest_bytes_total')).toBe(content.length);
    expect(sample(text, 'cygno_alarms{state="FIRING",severity="WARNING"}')).toBe(1);
    expect(
      sample(text, 'cygno_job_duration_seconds_count{kind="INGEST",outcome="succeeded"}'),
    ).toBe(1);
    expect(
      sample(
        text,
        'cygno_job_duration_seconds_bucket{le="+Inf",kind="INGEST",outcome="succeeded"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'cygno_graphql_operation_duration_seconds_count{operation="RunsForTest",type="query",outcome="ok"}',
      ),
    ).toBe(1);
    expect(text).toMatch(/^# TYPE cygno_job_duration_seconds histogram$/m);
    expect(text).toMatch(/^cygno_process_resident_memory_bytes \d+/m);
  });

  it('counts live subscriptions and exposes the pipeline gauges a dashboard needs', async () => {
    const metrics = async () => (await fetch(`${gw.url}/metrics`)).text();
    expect(sample(await metrics(), 'cygno_subscriptions')).toBe(0);
    const sub = await gw.subscribe(
      'subscription { runUpdated { runNumber } }',
      {},
      Topic.RunUpdated,
    );
    expect(sample(await metrics(), 'cygno_subscriptions')).toBe(1);
    sub.close();
    await waitFor(async () => sample(await metrics(), 'cygno_subscriptions') === 0, 'the close');
    const text = await metrics();
    expect(text).toMatch(/^# TYPE cygno_job_queue_oldest_age_seconds gauge$/m);
    expect(text).toMatch(/^# TYPE cygno_reco_images_total counter$/m);
    expect(sample(text, 'cygno_tape_backlog_bytes')).toBeGreaterThanOrEqual(0);
  });
});
