import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Alarm } from '../../src/entities/Alarm';
import { Topic } from '../../src/pubsub';
import { startTestGateway, type TestGateway } from '../support/gateway';

// Alertmanager → gateway: the webhook receiver, fed the bodies a real Alertmanager 0.25 posted
// (test/fixtures/alertmanager). The end-to-end run with a real Prometheus and Alertmanager is
// test/services/prometheus.test.ts.

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'alertmanager');
const FIRING = JSON.parse(
  fs.readFileSync(path.join(FIXTURES, 'alertmanager-webhook-firing.json'), 'utf8'),
);
const RESOLVED = JSON.parse(
  fs.readFileSync(path.join(FIXTURES, 'alertmanager-webhook-resolved.json'), 'utf8'),
);
const DAQ = 'alertmanager-daq-token-0123';
const READER = 'alertmanager-reader-token-0123';
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ env: { API_TOKENS: `daq:${DAQ},reader:${READER}`, WORKERS: '0' } });
});
afterAll(async () => {
  await gw?.close();
});

const post = (body: unknown, token: string | null = DAQ) => {
  const req = request(gw.url).post('/alertmanager/webhook').set('content-type', 'application/json');
  if (token) req.set('authorization', `Bearer ${token}`);
  return req.send(typeof body === 'string' ? body : JSON.stringify(body));
};
const alarmsOf = (fingerprint: string) =>
  gw.server.runtime.db.manager.findBy(Alarm, { fingerprint });
const withAlerts = (alerts: unknown[]) => ({ ...FIRING, alerts });
const alert = (fingerprint: string, extra: Record<string, unknown> = {}) => ({
  ...FIRING.alerts[0],
  fingerprint,
  labels: { alertname: `Alert ${fingerprint}`, severity: 'warning' },
  ...extra,
});

describe('POST /alertmanager/webhook', () => {
  it('turns a firing alert into an alarm with its fingerprint, labels, annotations and severity', async () => {
    const events = await gw.subscribe(
      `subscription { alarmEvents { type alarm { fingerprint name severity source message labels count } } }`,
      {},
      Topic.AlarmEvent,
      READER,
    );
    const res = await post(FIRING);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ raised: 1, resolved: 0, unchanged: 0 });
    expect(await events.next()).toEqual({
      type: 'RAISED',
      alarm: {
        fingerprint: '102b37e6bc5a5838',
        name: 'QueueTooDeep',
        severity: 'CRITICAL', // severity="page"
        source: 'alertmanager',
        message: 'Queue depth is 7',
        labels: {
          alertname: 'QueueTooDeep',
          instance: '127.0.0.1:34729',
          job: 'target',
          severity: 'page',
          'annotations.description': '127.0.0.1:34729 has 7 queued jobs',
          'annotations.summary': 'Queue depth is 7',
        },
        count: 1,
      },
    });
    events.close();
  });

  it('is idempotent when Alertmanager re-sends, and resolves on a resolved alert', async () => {
    expect((await post(FIRING)).body).toEqual({ raised: 0, resolved: 0, unchanged: 1 });
    expect((await alarmsOf('102b37e6bc5a5838'))[0]).toMatchObject({ count: 1, state: 'FIRING' });
    expect((await post(RESOLVED)).body).toEqual({ raised: 0, resolved: 1, unchanged: 0 });
    expect((await post(RESOLVED)).body).toEqual({ raised: 0, resolved: 0, unchanged: 1 });
    const [alarm] = await alarmsOf('102b37e6bc5a5838');
    expect(alarm.state).toBe('RESOLVED');
    expect(alarm.resolvedAt).not.toBeNull();
  });

  it('takes several alerts in one POST; Go zero-time endsAt means firing', async () => {
    const res = await post(
      withAlerts([
        alert('a1', { endsAt: '0001-01-01T00:00:00Z' }),
        alert('a2', { labels: { alertname: 'Info', severity: 'info' } }),
      ]),
    );
    expect(res.body).toEqual({ raised: 2, resolved: 0, unchanged: 0 });
    expect((await alarmsOf('a1'))[0]).toMatchObject({ state: 'FIRING', severity: 'WARNING' });
    expect((await alarmsOf('a2'))[0]).toMatchObject({ state: 'FIRING', severity: 'INFO' });
  });

  it('refuses bad bodies with a clear 4xx and stores nothing of them', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      ['malformed JSON', '{"version": "4", "alerts": [', /./],
      ['unknown version', { ...FIRING, version: '3' }, /version "3" is not supported/],
      ['an array', [FIRING], /JSON object/],
      ['no alerts', withAlerts([]), /non-empty/],
      [
        'an alert without labels, after a good one',
        withAlerts([alert('b1'), alert('b2', { labels: {} })]),
        /alerts\[1\]\.labels/,
      ],
      ['a bad status', withAlerts([alert('b3', { status: 'pending' })]), /alerts\[0\]\.status/],
      ['no fingerprint', withAlerts([alert('', { fingerprint: undefined })]), /fingerprint/],
    ];
    for (const [name, body, message] of cases) {
      const res = await post(body);
      expect(res.status, name).toBe(400);
      expect(res.body.errors[0].message, name).toMatch(message);
    }
    expect(await alarmsOf('b1')).toEqual([]); // nothing half-stored
  });

  it("ignores the gateway's own alarms coming back from Alertmanager (no loop)", async () => {
    const echo = alert('e1', { labels: { alertname: 'Ours', cygno_origin: 'gateway' } });
    expect((await post(withAlerts([echo]))).body).toEqual({ raised: 0, resolved: 0, unchanged: 1 });
    expect(await alarmsOf('e1')).toEqual([]);
  });

  it('needs a token with role daq', async () => {
    const anonymous = await post(FIRING, null);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    const reader = await post(FIRING, READER);
    expect(reader.status).toBe(403);
    expect(reader.body.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});
