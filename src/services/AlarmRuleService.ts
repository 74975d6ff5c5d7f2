import type { Database } from '../db/Database';
import { AlarmRule } from '../entities/AlarmRule';
import type { DqBand } from '../reco/dq';
import { BadUserInputError } from '../errors';
import { AlarmRuleKind, Severity } from '../schema/enums';

export interface RuleSpec {
  name: string;
  kind: AlarmRuleKind;
  metric?: string | null;
  below?: number | null;
  above?: number | null;
  forSeconds?: number | null;
  severity?: Severity | null;
  labels?: Record<string, string> | null;
  enabled?: boolean | null;
}

/** The pipeline rules every deployment starts with (ALARM_RULES adds or replaces by name). */
export const DEFAULT_RULES: readonly RuleSpec[] = [
  {
    name: 'job-failed',
    kind: AlarmRuleKind.PIPELINE,
    metric: 'failed-job',
    severity: Severity.CRITICAL,
  },
  {
    name: 'backlog',
    kind: AlarmRuleKind.PIPELINE,
    metric: 'backlog',
    above: 10,
    severity: Severity.WARNING,
  },
];

/** Checks a rule for what its kind needs; throws naming the problem. */
export function checkRule(spec: RuleSpec): void {
  const where = `rule ${spec.name}`;
  if (spec.kind === AlarmRuleKind.THRESHOLD) {
    if (!spec.metric)
      throw new BadUserInputError(`${where}: a THRESHOLD rule needs a metric`, 'metric');
    if (spec.above == null && spec.below == null)
      throw new BadUserInputError(`${where}: a THRESHOLD rule needs above or below`, 'above');
  }
  if (spec.kind === AlarmRuleKind.HEARTBEAT) {
    if (!spec.metric)
      throw new BadUserInputError(`${where}: a HEARTBEAT rule needs a metric`, 'metric');
    if (!spec.forSeconds || spec.forSeconds <= 0)
      throw new BadUserInputError(`${where}: a HEARTBEAT rule needs forSeconds > 0`, 'forSeconds');
  }
  if (spec.kind === AlarmRuleKind.DQ_BAND) {
    if (!spec.metric)
      throw new BadUserInputError(`${where}: a DQ_BAND rule needs a DQ metric`, 'metric');
    if (spec.above == null && spec.below == null)
      throw new BadUserInputError(`${where}: a DQ_BAND rule needs above or below`, 'above');
  }
  if (
    spec.kind === AlarmRuleKind.PIPELINE &&
    !['failed-job', 'backlog'].includes(spec.metric ?? '')
  )
    throw new BadUserInputError(
      `${where}: a PIPELINE rule watches failed-job or backlog`,
      'metric',
    );
  if (spec.forSeconds != null && spec.forSeconds < 0)
    throw new BadUserInputError(`${where}: forSeconds must be ≥ 0`, 'forSeconds');
}

/**
 * A DQ_BAND rule as the band it stands for: in band between `below` and `above`; outside, the
 * subsystem named by the rule's `subsystem` label (default `dq`) is flagged BAD for a CRITICAL
 * rule and QUESTIONABLE otherwise, and the alarm has the rule's severity.
 */
export function bandOfRule(rule: AlarmRule): DqBand {
  return {
    metric: rule.metric!,
    subsystem: rule.labels?.subsystem || 'dq',
    ...(rule.below != null ? { min: rule.below } : {}),
    ...(rule.above != null ? { max: rule.above } : {}),
    status: rule.severity === Severity.CRITICAL ? 'BAD' : 'QUESTIONABLE',
    severity: rule.severity,
  };
}

/** Parses ALARM_RULES: a JSON array of rules. */
export function parseAlarmRules(text: string): RuleSpec[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new Error('expected a JSON array of rules');
  return parsed.map((rule: RuleSpec, i) => {
    if (typeof rule?.name !== 'string' || !Object.values(AlarmRuleKind).includes(rule.kind))
      throw new Error(
        `rule ${i}: name and kind (${Object.values(AlarmRuleKind).join(', ')}) are required`,
      );
    try {
      checkRule(rule);
    } catch (error) {
      throw new Error((error as Error).message);
    }
    return rule;
  });
}

/** Alarm rules: from configuration at start, managed by admins afterwards. */
export class AlarmRuleService {
  constructor(private readonly db: Database) {}

  list(): Promise<AlarmRule[]> {
    return this.db.manager.find(AlarmRule, { order: { name: 'ASC' } });
  }

  async upsert(spec: RuleSpec): Promise<AlarmRule> {
    checkRule(spec);
    const values = {
      kind: spec.kind,
      metric: spec.metric ?? null,
      below: spec.below ?? null,
      above: spec.above ?? null,
      forSeconds: spec.forSeconds ?? 0,
      severity: spec.severity ?? Severity.WARNING,
      labels: spec.labels ?? {},
      enabled: spec.enabled ?? true,
    };
    await this.db.transaction(async (m) => {
      const existing = await m.findOneBy(AlarmRule, { name: spec.name });
      if (existing) await m.update(AlarmRule, existing.id, values);
      else await m.insert(AlarmRule, { name: spec.name, ...values });
    });
    return this.db.manager.findOneByOrFail(AlarmRule, { name: spec.name });
  }

  async remove(name: string): Promise<boolean> {
    const result = await this.db.write((m) => m.delete(AlarmRule, { name }));
    return (result.affected ?? 0) > 0;
  }

  /** Seeds rules from configuration: defaults and ALARM_RULES, replaced by name. */
  async seed(specs: readonly RuleSpec[], options: { onlyMissing?: boolean } = {}): Promise<void> {
    for (const spec of specs) {
      if (options.onlyMissing && (await this.db.manager.existsBy(AlarmRule, { name: spec.name })))
        continue; // an admin may have changed or disabled a built-in rule
      await this.upsert(spec);
    }
  }
}
