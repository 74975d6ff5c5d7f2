import { In, type EntityManager } from 'typeorm';
import { bindDate, bulkInsert } from '../db/bulkInsert';
import type { Database } from '../db/Database';
import { DqMetric } from '../entities/DqMetric';
import type { Run } from '../entities/Run';
import { checkBands, subsystemVerdicts, type BandViolation, type DqBand } from '../reco/dq';
import { AlarmRule } from '../entities/AlarmRule';
import { AlarmRuleKind, FlagSource, QualityStatus, Severity } from '../schema/enums';
import { bandOfRule } from './AlarmRuleService';
import type { AlarmService, RaiseAlarm, RecordedAlarm } from './AlarmService';
import type { QualityService } from './QualityService';

/**
 * A run's data-quality numbers: stored per reconstruction version, judged against the
 * configured bands into AUTO quality flags, and turned into alarms when out of band.
 */
export class DqService {
  constructor(
    private readonly db: Database,
    private readonly quality: QualityService,
    private readonly alarms: AlarmService,
    private readonly bands: readonly DqBand[],
  ) {}

  /**
   * Stores the metrics (replacing this version's earlier values), the AUTO flags and an alarm
   * per band violated, inside the caller's transaction. Returns the alarms, for `announce`
   * after the commit. With `judge` false (a version that is not the run's current one), only
   * the metrics: the flags and alarms come when the version is promoted.
   */
  async record(
    manager: EntityManager,
    run: Pick<Run, 'id' | 'runNumber'>,
    version: number,
    metrics: Readonly<Record<string, number | null>>,
    setBy: string,
    { judge }: { judge: boolean } = { judge: true },
  ): Promise<RecordedAlarm[]> {
    const runId = run.id;
    const names = Object.keys(metrics);
    if (names.length > 0)
      await manager.delete(DqMetric, { runId, recoVersion: version, name: In(names) });
    const now = new Date();
    await bulkInsert(
      manager,
      'dq_metrics',
      ['runId', 'name', 'value', 'recoVersion', 'createdAt'],
      names.map((name) => [
        runId,
        name,
        Number.isFinite(metrics[name]) ? metrics[name] : null,
        version,
        bindDate(manager, now),
      ]),
    );
    if (!judge) return [];
    const bands = [...this.bands, ...(await this.ruleBands(manager))];
    const violations = checkBands(metrics, bands);
    for (const [subsystem, verdict] of subsystemVerdicts(metrics, bands, violations)) {
      await this.quality.add(manager, {
        runId,
        subsystem,
        status: QualityStatus[verdict.status],
        source: FlagSource.AUTO,
        comment: verdict.reasons.length ? verdict.reasons.join('; ') : 'all DQ metrics in band',
        cause: verdict.reasons.length ? 'dq-band' : null,
        setBy,
      });
    }
    const alarms: RecordedAlarm[] = [];
    for (const violation of violations)
      alarms.push(await this.alarms.record(manager, bandAlarm(run.runNumber, violation)));
    return alarms;
  }

  /**
   * Mid-run, from the live reconstruction: an alarm per band the metrics so far are out of,
   * except those in `raised` (already raised for this run; added to it). No flags and no stored
   * metrics: those come with the run's RECONSTRUCT, whose alarm repeats the live one.
   */
  async raiseLive(
    run: Pick<Run, 'runNumber'>,
    metrics: Readonly<Record<string, number | null>>,
    raised: Set<string>,
  ): Promise<void> {
    const bands = [...this.bands, ...(await this.ruleBands(this.db.manager))];
    for (const violation of checkBands(metrics, bands)) {
      if (raised.has(violation.band.metric)) continue;
      raised.add(violation.band.metric);
      const alarm = bandAlarm(run.runNumber, violation);
      await this.alarms.raise({ ...alarm, message: `${alarm.message}, live, mid-run` });
    }
  }

  /** The bands of the enabled DQ_BAND alarm rules (an admin adds them at run time). */
  private async ruleBands(manager: EntityManager): Promise<DqBand[]> {
    const rules = await manager.find(AlarmRule, {
      where: { kind: AlarmRuleKind.DQ_BAND, enabled: true },
    });
    return rules.map(bandOfRule);
  }

  /** Tells of the alarms `record` wrote, once its transaction has committed. */
  announce(alarms: readonly RecordedAlarm[]): void {
    for (const alarm of alarms) this.alarms.announce(alarm);
  }

  /**
   * The metrics of several runs in one query: of one reconstruction version, or (null) of each
   * run's current version (the newest it has, for a run that has none recorded).
   */
  async metricsOfRuns(runIds: readonly number[], version: number | null): Promise<DqMetric[]> {
    if (runIds.length === 0) return [];
    const query = this.db.manager
      .createQueryBuilder(DqMetric, 'metric')
      .where('metric.runId IN (:...runIds)', { runIds })
      .orderBy('metric.runId', 'ASC')
      .addOrderBy('metric.name', 'ASC');
    if (version != null) query.andWhere('metric.recoVersion = :version', { version });
    else
      query.andWhere(
        'metric.recoVersion = COALESCE((SELECT current.recoVersion FROM runs current WHERE current.id = metric.runId), (SELECT MAX(newest.recoVersion) FROM dq_metrics newest WHERE newest.runId = metric.runId))',
      );
    return query.getMany();
  }
}

/** The alarm of a run's metric out of its band: one per run and metric. */
function bandAlarm(runNumber: number, { band, message }: BandViolation): RaiseAlarm {
  return {
    fingerprint: `dq:${runNumber}:${band.metric}`,
    name: `DQ ${band.metric} out of band`,
    severity: Severity[band.severity],
    source: 'dq',
    message: `run ${runNumber}: ${message} (${band.subsystem} ${band.status})`,
    labels: { run: String(runNumber), subsystem: band.subsystem, metric: band.metric },
  };
}
