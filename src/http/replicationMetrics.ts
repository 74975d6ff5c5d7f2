import { Gauge, type Registry } from 'prom-client';
import type { ReplicationMonitor } from '../replication/replicationMonitor';

const HEALTH_STATES = ['OK', 'LAGGING', 'STOPPED', 'BROKEN', 'UNKNOWN'] as const;

/** Replication as Prometheus sees it: lag, health, newest change, alarms the replica holds. */
export function registerReplicationMetrics(registry: Registry, monitor: ReplicationMonitor): void {
  const registers = [registry];
  new Gauge({
    name: 'cygno_replication_lag_seconds',
    help: "Age of the newest primary heartbeat in this gateway's database (0 on the primary; NaN before the first).",
    registers,
    collect() {
      this.set(monitor.latest.seconds ?? Number.NaN);
    },
  });
  new Gauge({
    name: 'cygno_replication_status',
    help: 'Replication health of this gateway: 1 for the current state, 0 for the others.',
    labelNames: ['role', 'status'],
    registers,
    collect() {
      this.reset();
      const { role, status } = monitor.latest;
      for (const state of HEALTH_STATES)
        this.set({ role: role.toLowerCase(), status: state }, state === status ? 1 : 0);
    },
  });
  new Gauge({
    name: 'cygno_replication_newest_change_id',
    help: 'The newest change-log entry this gateway has handed to its subscribers.',
    registers,
    collect() {
      this.set(monitor.latest.newestChangeId ?? 0);
    },
  });
  new Gauge({
    name: 'cygno_replication_alarms',
    help: 'Alarms a replica gateway holds itself (its database is read-only), by name.',
    labelNames: ['name', 'severity'],
    registers,
    collect() {
      this.reset();
      for (const alarm of monitor.openAlarms())
        this.set({ name: alarm.name, severity: alarm.severity }, 1);
    },
  });
}
