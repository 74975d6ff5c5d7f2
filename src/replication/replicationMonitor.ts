import os from 'node:os';
import type { Database } from '../db/Database';
import type { Alarm } from '../entities/Alarm';
import { logger } from '../logger';
import { Topic, type PubSub } from '../pubsub';
import { AlarmEventType, AlarmState, Severity } from '../schema/enums';
import type { ChangeFollower } from './changeFollower';
import { HEARTBEAT_MS } from './primaryHeartbeat';
import { readHeartbeat } from './heartbeatReader';
import { readReplicaThreads, type ReplicaThreads } from './replicaThreads';

export type ReplicationHealth = 'OK' | 'LAGGING' | 'STOPPED' | 'BROKEN' | 'UNKNOWN';

/** What a gateway knows of its database's replication, as `replicationLag` answers it. */
export interface ReplicationState {
  role: 'PRIMARY' | 'REPLICA';
  status: ReplicationHealth;
  /** Age of the newest primary heartbeat in this database (0 on the primary itself). */
  seconds: number | null;
  heartbeatAt: Date | null;
  /** The newest change this gateway has handed to its subscribers. */
  newestChangeId: number | null;
  newestChangeAt: Date | null;
  ioRunning: boolean | null;
  sqlRunning: boolean | null;
  lastError: string | null;
  maxLagSeconds: number;
  primaryUrl: string | null;
  checkedAt: Date;
}

/** The `source` of the alarms a replica gateway holds itself. */
export const REPLICA_ALARM_SOURCE = 'replica-gateway';
const LAG_ALARM = 'ReplicationLag';
const BROKEN_ALARM = 'ReplicationBroken';

/**
 * Watches replication from a gateway's side, every second: the heartbeat's age (the lag, which
 * MariaDB's own Seconds_Behind_Master leaves NULL while the link is down) and, on a replica, the
 * state of MariaDB's replication threads. A replica cannot write an alarm to its read-only
 * database, so its two alarms (lag past REPLICA_MAX_LAG_SECONDS; replication stopped by an
 * error, a diverged replica) live in the gateway: sent to its `alarmEvents` subscribers,
 * logged, in /readyz and in the Prometheus gauges — where the cloud's Prometheus and
 * Alertmanager can page on them too.
 */
export class ReplicationMonitor {
  private readonly log = logger('replication');
  private timer?: NodeJS.Timeout;
  private current: ReplicationState;
  private readonly alarms = new Map<string, Alarm>();
  private nextAlarmId = -1;

  constructor(
    private readonly db: Database,
    private readonly follower: ChangeFollower,
    private readonly pubsub: PubSub,
    private readonly options: {
      role: 'primary' | 'replica';
      maxLagSeconds: number;
      primaryUrl?: string;
    },
  ) {
    this.current = this.state({ status: 'UNKNOWN' });
  }

  async start(): Promise<void> {
    await this.check();
    this.timer = setInterval(() => void this.check(), HEARTBEAT_MS);
    this.timer.unref?.();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get latest(): ReplicationState {
    return this.current;
  }

  /** The gateway-held alarms now open (replica only). */
  openAlarms(): Alarm[] {
    return [...this.alarms.values()];
  }

  async check(): Promise<ReplicationState> {
    try {
      this.current = await this.read();
    } catch (error) {
      this.current = this.state({ status: 'UNKNOWN', lastError: (error as Error).message });
    }
    if (this.options.role === 'replica') this.raiseOrResolve(this.current);
    return this.current;
  }

  private async read(): Promise<ReplicationState> {
    const heartbeat = await readHeartbeat(this.db);
    if (this.options.role === 'primary')
      return this.state({ status: 'OK', seconds: 0, heartbeatAt: heartbeat?.beatAt ?? null });
    const threads = await readReplicaThreads(this.db);
    const seconds = heartbeat?.ageSeconds ?? null;
    return this.state({
      status: healthOf(seconds, threads, this.options.maxLagSeconds),
      seconds,
      heartbeatAt: heartbeat?.beatAt ?? null,
      ioRunning: threads ? threads.ioRunning : null,
      sqlRunning: threads ? threads.sqlRunning : null,
      lastError: threads ? (threads.sqlError ?? threads.ioError) : null,
    });
  }

  private state(partial: Partial<ReplicationState>): ReplicationState {
    return {
      role: this.options.role === 'primary' ? 'PRIMARY' : 'REPLICA',
      status: 'UNKNOWN',
      seconds: null,
      heartbeatAt: null,
      newestChangeId: this.follower.position || null,
      newestChangeAt: this.follower.positionAt,
      ioRunning: null,
      sqlRunning: null,
      lastError: null,
      maxLagSeconds: this.options.maxLagSeconds,
      primaryUrl: this.options.primaryUrl ?? null,
      checkedAt: new Date(),
      ...partial,
    };
  }

  private raiseOrResolve(state: ReplicationState): void {
    const lagging = state.seconds === null || state.seconds > state.maxLagSeconds;
    this.setAlarm(
      LAG_ALARM,
      lagging && state.status !== 'UNKNOWN',
      Severity.WARNING,
      state.seconds === null
        ? 'this replica has never received a heartbeat from the primary'
        : `replication lag ${state.seconds.toFixed(1)} s exceeds ${state.maxLagSeconds} s: data served here may be old`,
    );
    this.setAlarm(
      BROKEN_ALARM,
      state.status === 'BROKEN',
      Severity.CRITICAL,
      `replication stopped by an error (the replica has diverged from the primary): ${state.lastError ?? 'unknown'}`,
    );
  }

  private setAlarm(name: string, firing: boolean, severity: Severity, message: string): void {
    const open = this.alarms.get(name);
    if (firing && !open) {
      const now = new Date();
      const alarm = {
        id: this.nextAlarmId--,
        fingerprint: `replica:${name}`,
        openFingerprint: `replica:${name}`,
        rule: null,
        name,
        severity,
        source: REPLICA_ALARM_SOURCE,
        message,
        labels: { role: 'replica', host: os.hostname() },
        state: AlarmState.FIRING,
        firstRaisedAt: now,
        lastRaisedAt: now,
        count: 1,
        acknowledgedBy: null,
        acknowledgedAt: null,
        acknowledgeComment: null,
        resolvedAt: null,
      } as Alarm;
      this.alarms.set(name, alarm);
      this.log.error({ alarm: name }, message);
      this.announce(AlarmEventType.RAISED, alarm);
    } else if (!firing && open) {
      this.alarms.delete(name);
      const resolved = { ...open, state: AlarmState.RESOLVED, resolvedAt: new Date() } as Alarm;
      this.log.info({ alarm: name }, 'replication alarm resolved');
      this.announce(AlarmEventType.RESOLVED, resolved);
    }
  }

  private announce(type: AlarmEventType, alarm: Alarm): void {
    this.pubsub.deliverLocally(Topic.AlarmEvent, JSON.stringify({ type, alarm }));
  }
}

/** A replica's health from its lag and its threads (undefined threads: not allowed to ask). */
export function healthOf(
  seconds: number | null,
  threads: ReplicaThreads | null | undefined,
  maxLagSeconds: number,
): ReplicationHealth {
  if (threads && !threads.sqlRunning && threads.sqlError) return 'BROKEN';
  if (threads === null) return 'STOPPED'; // no replication configured (any more)
  if (threads && (!threads.ioRunning || !threads.sqlRunning)) return 'STOPPED';
  if (seconds === null) return 'UNKNOWN';
  return seconds > maxLagSeconds ? 'LAGGING' : 'OK';
}
