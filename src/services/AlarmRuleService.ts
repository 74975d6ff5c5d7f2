import { checkRule, type RuleSpec } from '../config/alarmRules';
import type { Database } from '../db/Database';
import { AlarmRule } from '../entities/AlarmRule';
import type { DqBand } from '../reco/dq';
import { Severity } from '../schema/enums';

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
