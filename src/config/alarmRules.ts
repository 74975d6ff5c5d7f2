import { BadUserInputError } from '../errors';
import { AlarmRuleKind, Severity } from '../schema/enums';

// Alarm rules as configuration gives them (ALARM_RULES, setAlarmRule): their shape and checks.
// Pure, so that config (a leaf) can parse them without reaching into the services.

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
