import { In } from 'typeorm';
import type { Database } from '../db/Database';
import type { AlarmRule } from '../entities/AlarmRule';
import { Job } from '../entities/Job';
import { MetricSample } from '../entities/MetricSample';
import { logger } from '../logger';
import { AlarmRuleKind, JobState, Severity } from '../schema/enums';
import type { AlarmRuleService } from './AlarmRuleService';
import type { AlarmService } from './AlarmService';
import type { StorageService } from './StorageService';

const FAILED_JOB_PREFIX = 'job-failed:';
/** How many newly failed jobs one pass raises alarms for (a mass failure spreads over passes). */
const NEW_FAILURES_PER_PASS = 200;

function failedJobFingerprint(jobId: number): string {
  return `${FAILED_JOB_PREFIX}${jobId}`;
}

/**
 * Evaluates the alarm rules every few seconds: thresholds held for a duration, heartbeats that
 * stopped ("program not running", as MIDAS says of its DAQ programs), jobs failed after their
 * last attempt, a backlog too long. Raises on the condition, resolves when it clears;
 * deduplication by fingerprint makes a second evaluator harmless.
 */
export class AlarmEngine {
  private readonly log = logger('alarm-engine');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly db: Database,
    private readonly rules: AlarmRuleService,
    private readonly alarms: AlarmService,
    private readonly storage: StorageService,
  ) {}

  start(everyMs: number): void {
    // Evaluation runs on a timer; the first pass comes after one interval.
    if (everyMs <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.running ??= this.evaluate()
        .catch((error) => this.log.error({ err: error }, 'alarm evaluation failed'))
        .finally(() => (this.running = undefined));
    }, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  async evaluate(now = new Date()): Promise<void> {
    for (const rule of await this.rules.list()) {
      if (!rule.enabled) continue;
      switch (rule.kind) {
        case AlarmRuleKind.THRESHOLD:
          await this.threshold(rule, now);
          break;
        case AlarmRuleKind.HEARTBEAT:
          await this.heartbeat(rule, now);
          break;
        case AlarmRuleKind.PIPELINE:
          if (rule.metric === 'failed-job') await this.failedJobs(rule);
          else await this.backlog(rule);
          break;
        case AlarmRuleKind.DQ_BAND:
          break; // judged when a run's metrics are computed (DqService.record), not on a timer
      }
    }
  }

  private violates(rule: AlarmRule, value: number): boolean {
    return (rule.above != null && value > rule.above) || (rule.below != null && value < rule.below);
  }

  private async threshold(rule: AlarmRule, now: Date): Promise<void> {
    const since = new Date(now.getTime() - rule.forSeconds * 1000);
    const window = await this.db.manager
      .createQueryBuilder(MetricSample, 's')
      .where('s.name = :name AND s.time >= :since AND s.time <= :now', {
        name: rule.metric,
        since,
        now,
      })
      .orderBy('s.time', 'ASC')
      .getMany();
    const before = await this.db.manager
      .createQueryBuilder(MetricSample, 's')
      .where('s.name = :name AND s.time < :since', { name: rule.metric, since })
      .orderBy('s.time', 'DESC')
      .getOne();
    // Held for the duration: every sample in the window violates, and so did the one before it.
    const held =
      window.length > 0 &&
      window.every((s) => this.violates(rule, s.value)) &&
      (rule.forSeconds === 0 || (before != null && this.violates(rule, before.value)));
    const fingerprint = `rule:${rule.name}`;
    if (held) {
      const last = window[window.length - 1];
      const bound =
        rule.above != null && last.value > rule.above
          ? `above ${rule.above}`
          : `below ${rule.below}`;
      await this.raise(
        rule,
        fingerprint,
        `${rule.metric} = ${last.value} ${bound}${rule.forSeconds ? ` for ${rule.forSeconds} s` : ''}`,
      );
    } else if (window.length > 0 && !this.violates(rule, window[window.length - 1].value)) {
      await this.alarms.resolve(fingerprint);
    }
  }

  private async heartbeat(rule: AlarmRule, now: Date): Promise<void> {
    const last = await this.db.manager
      .createQueryBuilder(MetricSample, 's')
      .where('s.name = :name', { name: rule.metric })
      .orderBy('s.time', 'DESC')
      .getOne();
    const fingerprint = `rule:${rule.name}`;
    const silentFor = last ? (now.getTime() - last.time.getTime()) / 1000 : Infinity;
    if (silentFor > rule.forSeconds) {
      const since = last ? `since ${last.time.toISOString()}` : 'ever';
      await this.raise(
        rule,
        fingerprint,
        `program not running: no ${rule.metric} heartbeat ${since}`,
      );
    } else {
      await this.alarms.resolve(fingerprint);
    }
  }

  /**
   * One alarm per job that failed after its last attempt, resolved once the job is retried or
   * succeeds. Three reads per pass whatever the numbers: the ids of every failed job, the open
   * job-failed alarms, and the details of at most NEW_FAILURES_PER_PASS newly failed jobs (the
   * rest get theirs on the next pass). An alarm is resolved only when its job is known not to be
   * failed, never because the job fell outside a page.
   */
  private async failedJobs(rule: AlarmRule): Promise<void> {
    const failedIds = new Set(
      (
        await this.db.manager.find(Job, {
          where: { state: JobState.FAILED },
          select: { id: true },
        })
      ).map((job) => job.id),
    );
    const open = new Set(await this.alarms.openFingerprints(FAILED_JOB_PREFIX));
    const fresh = [...failedIds]
      .filter((id) => !open.has(failedJobFingerprint(id)))
      .sort((x, y) => y - x)
      .slice(0, NEW_FAILURES_PER_PASS);
    const jobs = fresh.length
      ? await this.db.manager.find(Job, { where: { id: In(fresh) }, order: { id: 'DESC' } })
      : [];
    for (const job of jobs) {
      await this.raise(
        rule,
        failedJobFingerprint(job.id),
        `${job.kind} ${job.subject} failed after ${job.attempts} attempt(s): ${job.lastError ?? 'no reason recorded'}`,
        { kind: job.kind, run: String(job.runNumber ?? '') },
      );
    }
    for (const fingerprint of open) {
      if (!failedIds.has(Number(fingerprint.slice(FAILED_JOB_PREFIX.length))))
        await this.alarms.resolve(fingerprint); // retried or succeeded since
    }
  }

  private async backlog(rule: AlarmRule): Promise<void> {
    const limit = rule.above ?? 10;
    for (const entry of await this.storage.backlog()) {
      const fingerprint = `rule:${rule.name}:${entry.kind}`;
      if (entry.runs > limit)
        await this.raise(
          rule,
          fingerprint,
          `${entry.runs} runs wait for ${entry.kind} (limit ${limit})`,
          { kind: entry.kind },
        );
      else await this.alarms.resolve(fingerprint);
    }
  }

  private async raise(
    rule: AlarmRule,
    fingerprint: string,
    message: string,
    labels: Record<string, string> = {},
  ): Promise<void> {
    await this.alarms.raise({
      fingerprint,
      rule: rule.name,
      name: rule.name,
      severity: rule.severity ?? Severity.WARNING,
      source: 'rules',
      message,
      labels: { ...rule.labels, ...labels },
    });
  }
}
