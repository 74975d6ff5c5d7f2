import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarm } from '../../src/entities/Alarm';
import { Silence } from '../../src/entities/Silence';
import { Topic } from '../../src/pubsub';
import { fakeDiscord } from '../support/fakeDiscord';
import { startTestGateway, type TestGateway } from '../support/gateway';
import {
  promtoolCheckMetrics,
  startAlertmanager,
  startPrometheus,
  type MonitoringServer,
} from '../support/monitoring';
import { waitFor } from '../support/wait';
import { freePort } from '../support/ports';

/** Alertmanager's active alerts of one alertname (API v2). */
async function activeAlerts(name: string) {
  const filter = encodeURIComponent(`alertname="${name}"`);
  const res = await fetch(
    `${alertmanager.url}/api/v2/alerts?active=true&silenced=false&filter=${filter}`,
  );
  return (await res.json()) as Array<{ labels: Record<string, string>; endsAt: string }>;
}

// Runs when TEST_PROMETHEUS is set (.ci/run installs Debian's prometheus and
// prometheus-alertmanager and sets it): a real Prometheus scrapes the gateway's /metrics and
// evaluates a rule on it; a real Alertmanager posts the alert to the gateway's webhook; the
// alarm reaches a graphql-ws subscriber and the Discord dispatcher, and resolves when the rule
// clears. The figures (rule firing to subscriber) are printed for the session note.

const DAQ = 'monitoring-daq-token-0123456';
const READER = 'monitoring-reader-token-0123';
const SHIFTER = 'monitoring-shifter-token-0123';
const discord = fakeDiscord();
let gw: TestGateway;
let prometheus: MonitoringServer;
let alertmanager: MonitoringServer;

beforeAll(async () => {
  discord.setMode('ok');
  const webhook = await discord.listen();
  // Both directions on: Alertmanager posts to the gateway, the gateway pushes to Alertmanager.
  const port = await freePort();
  const gatewayUrl = `http://127.0.0.1:${port}`;
  alertmanager = await startAlertmanager(`
route:
  receiver: gateway
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: gateway
    webhook_configs:
      - url: ${gatewayUrl}/alertmanager/webhook
        send_resolved: true
        http_config:
          authorization:
            credentials: ${DAQ}
`);
  gw = await startTestGateway({
    env: {
      PORT: String(port),
      API_TOKENS: `daq:${DAQ},reader:${READER},shifter:${SHIFTER}`,
      WORKERS: '0', // an INGEST job stays QUEUED: the condition the rule watches
      DISCORD_WEBHOOK_URL: webhook,
      DISCORD_GROUP_MS: '100',
      ALERTMANAGER_URL: alertmanager.url,
      ALERTMANAGER_RESEND_MS: '1000',
    },
  });
  const target = gw.url.replace('http://', '');
  prometheus = await startPrometheus(
    `
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['${alertmanager.url.replace('http://', '')}']
scrape_configs:
  - job_name: cygno
    static_configs:
      - targets: ['${target}']
`,
    `
groups:
  - name: cygno
    rules:
      - alert: IngestQueued
        expr: cygno_jobs{kind="INGEST",state="QUEUED"} > 0
        labels:
          severity: critical
        annotations:
          summary: 'an INGEST job waits in the queue'
`,
  );
}, 60_000);
afterAll(async () => {
  await prometheus?.close();
  await alertmanager?.close();
  await gw?.close();
  discord.server.close();
});

async function promQuery(query: string) {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as {
    data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  return body.data.result;
}

describe('the gateway in the monitoring ecosystem (real Prometheus and Alertmanager)', () => {
  it('is scraped by Prometheus: its series in the query API with their labels', async () => {
    await waitFor(
      async () => (await promQuery('up{job="cygno"}'))[0]?.value[1] === '1',
      'a scrape',
      30_000,
    );
    // Every series the gateway exports is known to Prometheus (its metadata: type and help),
    // those without samples yet (no job, no alarm) included.
    for (const series of [
      'cygno_jobs',
      'cygno_alarms',
      'cygno_job_queue_oldest_age_seconds',
      'cygno_reco_images_total',
      'cygno_tape_backlog_bytes',
      'cygno_subscriptions',
      'cygno_ingest_bytes_total',
      'cygno_job_duration_seconds',
    ]) {
      const res = await fetch(`${prometheus.url}/api/v1/targets/metadata?metric=${series}`);
      const body = (await res.json()) as { data: Array<{ type: string; help: string }> };
      expect(body.data.length, series).toBeGreaterThan(0);
      expect(body.data[0].help, series).not.toBe('');
    }
    const subscriptions = await promQuery('cygno_subscriptions');
    expect(subscriptions[0].metric).toMatchObject({
      job: 'cygno',
      instance: gw.url.replace('http://', ''),
    });
  });

  it('passes promtool check metrics, but for prom-client’s three known names', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const { status, problems } = promtoolCheckMetrics(text);
    const unexpected = problems.filter(
      (p) => !/nodejs_active_(handles|requests|resources)_total/.test(p),
    );
    expect(unexpected, problems.join('\n')).toEqual([]);
    expect(problems.length).toBeLessThanOrEqual(3);
    expect([0, 3]).toContain(status); // 3: lint problems, which are only the three above
  });

  it('an alert of a Prometheus rule reaches subscribers and Discord, and resolves when it clears', async () => {
    const events = await gw.subscribe(
      `subscription { alarmEvents { type alarm { fingerprint name severity source message } } }`,
      {},
      Topic.AlarmEvent,
      READER,
    );
    const queued = Date.now();
    const closed = await gw.gql(
      `mutation { closeRun(input: { runNumber: 9001 }) { id } }`,
      {},
      DAQ,
    );
    expect(closed.errors).toBeUndefined();
    const raised = await events.next(30_000);
    const firingMs = Date.now() - queued;
    expect(raised).toMatchObject({
      type: 'RAISED',
      alarm: {
        name: 'IngestQueued',
        severity: 'CRITICAL',
        source: 'alertmanager',
        message: 'an INGEST job waits in the queue',
      },
    });
    await waitFor(
      () => discord.posts.some((p) => p.body.embeds.some((e) => e.title.includes('IngestQueued'))),
      'the Discord dispatcher to send it',
    );

    const { id } = (
      await gw.gql(`{ jobs(filter: { runNumber: 9001 }) { nodes { id } } }`, {}, READER)
    ).data.jobs.nodes[0];
    const cleared = Date.now();
    await gw.server.runtime.queue.cancel(Number(id));
    const resolved = await events.next(30_000);
    const resolvingMs = Date.now() - cleared;
    expect(resolved).toMatchObject({
      type: 'RESOLVED',
      alarm: { fingerprint: raised.alarm.fingerprint },
    });
    events.close();
    // Figures for the note: condition → subscriber, through scrape, rule, Alertmanager, webhook.
    console.log(
      `monitoring e2e: condition to RAISED ${firingMs} ms, cleared to RESOLVED ${resolvingMs} ms`,
    );
    expect(firingMs).toBeLessThan(10_000);
  });

  it('pushes its own alarms to Alertmanager, resolves them there, and never loops', async () => {
    const raisedAt = Date.now();
    const raised = await gw.gql(
      `mutation { raiseAlarm(input: { name: "GEM1 trip", severity: CRITICAL, source: "midas", message: "current above limit", labels: { channel: "GEM1" } }) { id fingerprint } }`,
      {},
      DAQ,
    );
    expect(raised.errors).toBeUndefined();
    await waitFor(
      async () => (await activeAlerts('GEM1 trip')).length === 1,
      'the alert in Alertmanager',
    );
    const pushMs = Date.now() - raisedAt;
    const [alert] = await activeAlerts('GEM1 trip');
    expect(alert.labels).toMatchObject({
      alertname: 'GEM1 trip',
      severity: 'critical',
      source: 'midas',
      channel: 'GEM1',
      cygno_origin: 'gateway',
      fingerprint: raised.data.raiseAlarm.fingerprint,
    });
    // Alertmanager sends it on to the gateway's webhook (group_wait 1 s): it is known there as
    // ours and opens nothing; and what came from Alertmanager is never pushed back to it.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const named = await gw.server.runtime.db.manager.findBy(Alarm, { name: 'GEM1 trip' });
    expect(named).toHaveLength(1);
    expect(named[0]).toMatchObject({ source: 'midas', count: 1 });
    for (const fromPrometheus of await activeAlerts('IngestQueued'))
      expect(fromPrometheus.labels.cygno_origin).toBeUndefined();

    const resolvedAt = Date.now();
    await gw.gql(
      `mutation($f: String!) { resolveAlarm(fingerprint: $f) { id } }`,
      { f: raised.data.raiseAlarm.fingerprint },
      DAQ,
    );
    await waitFor(
      async () => (await activeAlerts('GEM1 trip')).length === 0,
      'the alert resolved in Alertmanager',
    );
    console.log(
      `monitoring e2e: gateway alarm to Alertmanager ${pushMs} ms, resolved there ${Date.now() - resolvedAt} ms`,
    );
    expect(pushMs).toBeLessThan(2_000);
  });

  it('ships Prometheus, rule and Alertmanager configurations the real tools accept', () => {
    const deploy = path.join(__dirname, '..', '..', 'deploy', 'prometheus');
    const check = (binary: string, args: string[]) => {
      const result = spawnSync(binary, args, { encoding: 'utf8' });
      expect(result.status, `${binary} ${args.join(' ')}: ${result.stdout}${result.stderr}`).toBe(
        0,
      );
    };
    check('promtool', ['check', 'rules', path.join(deploy, 'cygno-rules.yml')]);
    check('promtool', ['check', 'config', path.join(deploy, 'prometheus.yml')]);
    check('amtool', ['check-config', path.join(deploy, 'alertmanager.yml')]);
  });

  it('mirrors gateway silences into Alertmanager and expires them there', async () => {
    const created = await gw.gql(
      `mutation { createSilence(input: { matchers: { source: "midas", severity: "CRITICAL", channel: "/GEM.*/" }, endsAt: ${Date.now() + 3_600_000}, comment: "GEM work" }) { id } }`,
      {},
      SHIFTER,
    );
    expect(created.errors).toBeUndefined();
    const id = Number(created.data.createSilence.id);
    const mirrorId = await waitFor(
      async () =>
        (await gw.server.runtime.db.manager.findOneByOrFail(Silence, { id })).alertmanagerSilenceId,
      'the silence mirrored',
    );
    const silenceIn = async () =>
      (await (await fetch(`${alertmanager.url}/api/v2/silence/${mirrorId}`)).json()) as {
        status: { state: string };
        matchers: Array<{ name: string; value: string; isRegex: boolean }>;
        comment: string;
      };
    const mirrored = await silenceIn();
    expect(mirrored.status.state).toBe('active');
    expect(mirrored.comment).toBe('GEM work');
    expect(mirrored.matchers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'source', value: 'midas', isRegex: false }),
        expect.objectContaining({ name: 'severity', value: 'critical', isRegex: false }),
        expect.objectContaining({ name: 'channel', value: 'GEM.*', isRegex: true }),
      ]),
    );
    await gw.gql(`mutation { expireSilence(id: "${id}") { id } }`, {}, SHIFTER);
    await waitFor(
      async () => (await silenceIn()).status.state === 'expired',
      'the silence expired there',
    );
  });
});
