import type { Database } from '../db/Database';
import { bindDate, bulkInsert } from '../db/bulkInsert';
import { MetricSample } from '../entities/MetricSample';
import { BadUserInputError, NotFoundError } from '../errors';
import { Topic, type PubSub } from '../pubsub';
import { METRIC_NAME, type MetricInput, type MetricPoint } from '../schema/metrics';

export interface SeriesQuery {
  name: string;
  from: Date;
  to: Date;
  intervalMs?: number | null;
  maxDataPoints?: number | null;
}

/** Most bins a series may have, whatever maxDataPoints asks. */
const MAX_POINTS = 10_000;
const DEFAULT_POINTS = 1_000;

/**
 * Time series (slow control, rates, pipeline gauges): written in bulk, binned in the database
 * (mean, min, max, count per bin aligned to the interval — MIDAS hs_read_binned), streamed to
 * `metricSamples` subscribers.
 */
export class MetricService {
  constructor(
    private readonly db: Database,
    private readonly pubsub: PubSub,
  ) {}

  /** Validates every sample first: one bad sample stores none. Returns how many were stored. */
  async record(samples: readonly MetricInput[]): Promise<number> {
    if (samples.length > 10_000)
      throw new BadUserInputError(
        `at most 10000 samples per call, got ${samples.length}`,
        'samples',
      );
    const now = new Date();
    const rows = samples.map((s, i) => {
      if (!METRIC_NAME.test(s.name))
        throw new BadUserInputError(
          `samples[${i}].name: "${s.name}" is not a metric name`,
          'samples',
        );
      if (!Number.isFinite(s.value))
        throw new BadUserInputError(
          `samples[${i}].value: ${s.value} is not a finite number`,
          'samples',
        );
      return { name: s.name, value: s.value, time: s.time ?? now };
    });
    await this.db.write((m) =>
      bulkInsert(
        m,
        'metric_samples',
        ['name', 'time', 'value'],
        rows.map((r) => [r.name, bindDate(m, r.time), r.value]),
      ),
    );
    for (const row of rows) this.pubsub.publish(Topic.MetricSample, row as MetricSample);
    return rows.length;
  }

  async names(): Promise<string[]> {
    const rows: Array<{ name: string }> = await this.db.manager
      .createQueryBuilder(MetricSample, 's')
      .select('DISTINCT s.name', 'name')
      .orderBy('s.name', 'ASC')
      .getRawMany();
    return rows.map((r) => r.name);
  }

  /**
   * Retention: samples older than `downsampleBefore` become one mean per `binMs` (as MIDAS
   * history keeps old data coarse), and samples older than `deleteBefore` go. Idempotent: a
   * second pass averages single samples into themselves. Returns the rows removed.
   */
  async compact(options: {
    downsampleBefore?: Date;
    deleteBefore?: Date;
    binMs?: number;
  }): Promise<number> {
    let removed = 0;
    if (options.deleteBefore) {
      const result = await this.db.write((m) =>
        m
          .createQueryBuilder()
          .delete()
          .from(MetricSample)
          .where('time < :before', { before: options.deleteBefore })
          .execute(),
      );
      removed += result.affected ?? 0;
    }
    if (options.downsampleBefore) {
      const bin = options.binMs ?? 60_000;
      // Whole bins only: one straddling the cutoff keeps its raw samples until next time.
      const cutoff = new Date(Math.floor(options.downsampleBefore.getTime() / bin) * bin);
      const names: Array<{ name: string }> = await this.db.manager
        .createQueryBuilder(MetricSample, 's')
        .select('DISTINCT s.name', 'name')
        .where('s.time < :cutoff', { cutoff })
        .getRawMany();
      for (const { name } of names) {
        const bins = await this.binned(name, new Date(0), cutoff, bin);
        await this.db.transaction(async (m) => {
          const result = await m
            .createQueryBuilder()
            .delete()
            .from(MetricSample)
            .where('name = :name AND time < :cutoff', { name, cutoff })
            .execute();
          removed += (result.affected ?? 0) - bins.length;
          await bulkInsert(
            m,
            'metric_samples',
            ['name', 'time', 'value'],
            bins.map((b) => [name, bindDate(m, b.time), b.value]),
          );
        });
      }
    }
    return removed;
  }

  async series(query: SeriesQuery): Promise<MetricPoint[]> {
    const from = query.from.getTime();
    const to = query.to.getTime();
    if (!(from < to)) throw new BadUserInputError('from must be before to', 'from');
    const maxPoints = Math.min(query.maxDataPoints ?? DEFAULT_POINTS, MAX_POINTS);
    if (maxPoints < 1)
      throw new BadUserInputError('maxDataPoints must be at least 1', 'maxDataPoints');
    let interval = query.intervalMs ?? Math.ceil((to - from) / maxPoints);
    if (interval < 1) throw new BadUserInputError('intervalMs must be at least 1', 'intervalMs');
    const bins = Math.ceil((to - from) / interval);
    if (query.intervalMs != null && bins > maxPoints && bins <= 2 * maxPoints) {
      // Grafana rounds its interval to a "nice" value, sometimes below range/maxDataPoints:
      // widen it to a multiple of the asked interval rather than fail the panel.
      interval *= Math.ceil(bins / maxPoints);
    } else if (query.intervalMs != null && bins > maxPoints) {
      throw new BadUserInputError(
        `${bins} bins of ${interval} ms between from and to exceed maxDataPoints ${maxPoints}; widen intervalMs or narrow the range`,
        'intervalMs',
      );
    }
    // Aligned bins can straddle both ends: one more bin than the range holds at most.
    interval = Math.max(interval, 1);
    const known = await this.db.manager.existsBy(MetricSample, { name: query.name });
    if (!known) throw new NotFoundError('metric', query.name);

    return (await this.binned(query.name, query.from, query.to, interval)).slice(0, maxPoints + 1);
  }

  /** Bins of `interval` ms aligned to the epoch, computed by the database. */
  private async binned(
    name: string,
    from: Date,
    to: Date,
    interval: number,
  ): Promise<MetricPoint[]> {
    const epochMs =
      this.db.dialect === 'sqlite'
        ? 'CAST(ROUND((julianday(s.time) - 2440587.5) * 86400000) AS INTEGER)'
        : 'CAST(ROUND(UNIX_TIMESTAMP(s.time) * 1000) AS SIGNED)';
    const rows: Array<{
      bin: string | number;
      mean: number;
      min: number;
      max: number;
      count: string | number;
    }> = await this.db.manager
      .createQueryBuilder(MetricSample, 's')
      .select(`FLOOR(${epochMs} / :interval)`, 'bin')
      .addSelect('AVG(s.value)', 'mean')
      .addSelect('MIN(s.value)', 'min')
      .addSelect('MAX(s.value)', 'max')
      .addSelect('COUNT(*)', 'count')
      .where('s.name = :name', { name })
      .andWhere('s.time >= :from AND s.time < :to', { from, to })
      .groupBy('bin')
      .orderBy('bin', 'ASC')
      .setParameter('interval', interval)
      .getRawMany();
    return rows.map((r) => ({
      time: new Date(Number(r.bin) * interval),
      value: Number(r.mean),
      min: Number(r.min),
      max: Number(r.max),
      count: Number(r.count),
    }));
  }
}
