import { Severity } from '../schema/enums';
import { ORIGIN_GATEWAY, ORIGIN_LABEL } from './AlertmanagerPusher';

/** What one alert of an Alertmanager webhook asks of the gateway. */
export type AlertChange =
  | {
      kind: 'firing';
      fingerprint: string;
      name: string;
      severity: Severity;
      message: string;
      labels: Record<string, string>;
    }
  | { kind: 'resolved'; fingerprint: string }
  /** An alert the gateway pushed itself (`cygno_origin="gateway"`), sent on by Alertmanager. */
  | { kind: 'echo' };

/** A webhook body the gateway cannot take; the message says which part and why. */
export class WebhookPayloadError extends Error {}

/** Alertmanager's `severity` label (any case) as the gateway's severity; WARNING otherwise. */
export function severityOf(label: string | undefined): Severity {
  const value = (label ?? '').toLowerCase();
  if (['critical', 'page', 'error', 'emergency', 'fatal'].includes(value)) return Severity.CRITICAL;
  if (['info', 'informational', 'none', 'notice'].includes(value)) return Severity.INFO;
  return Severity.WARNING;
}

function isStringMap(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}

/**
 * Reads an Alertmanager webhook body (version "4", as Alertmanager 0.25 posts it): one change
 * per alert, all checked before any is stored — a body with one bad alert is refused whole.
 * The alarm's fingerprint is Alertmanager's own (stable from firing to resolved); its labels
 * are the alert's, with the annotations beside them as `annotations.<name>`; its severity comes
 * from the `severity` label. A firing alert's `endsAt` of Go's zero time (0001-01-01) is not a
 * date: `status` says whether it fires.
 */
export function parseAlertmanagerWebhook(body: unknown): AlertChange[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new WebhookPayloadError('the body must be a JSON object (an Alertmanager webhook)');
  const { version, alerts } = body as { version?: unknown; alerts?: unknown };
  if (version !== '4')
    throw new WebhookPayloadError(
      `version ${JSON.stringify(version)} is not supported; Alertmanager's webhook version is "4"`,
    );
  if (!Array.isArray(alerts) || alerts.length === 0)
    throw new WebhookPayloadError('alerts: a non-empty list is required');
  return alerts.map((alert: unknown, i): AlertChange => {
    const where = `alerts[${i}]`;
    if (typeof alert !== 'object' || alert === null)
      throw new WebhookPayloadError(`${where}: not an object`);
    const { status, labels, annotations, fingerprint } = alert as Record<string, unknown>;
    if (isStringMap(labels) && labels[ORIGIN_LABEL] === ORIGIN_GATEWAY) return { kind: 'echo' };
    if (typeof fingerprint !== 'string' || !/^[0-9a-f]{1,64}$/.test(fingerprint))
      throw new WebhookPayloadError(
        `${where}.fingerprint: Alertmanager's hex fingerprint is required`,
      );
    if (status === 'resolved') return { kind: 'resolved', fingerprint };
    if (status !== 'firing')
      throw new WebhookPayloadError(
        `${where}.status: "firing" or "resolved", not ${JSON.stringify(status)}`,
      );
    if (!isStringMap(labels) || Object.keys(labels).length === 0)
      throw new WebhookPayloadError(`${where}.labels: at least one label (alertname) is required`);
    if (annotations !== undefined && !isStringMap(annotations))
      throw new WebhookPayloadError(`${where}.annotations: label name → string value`);
    const notes = annotations ?? {};
    const name = labels.alertname ?? Object.values(labels)[0];
    return {
      kind: 'firing',
      fingerprint,
      name: name.slice(0, 255),
      severity: severityOf(labels.severity),
      message: (notes.summary ?? notes.description ?? name).slice(0, 4000),
      labels: {
        ...labels,
        ...Object.fromEntries(Object.entries(notes).map(([k, v]) => [`annotations.${k}`, v])),
      },
    };
  });
}
