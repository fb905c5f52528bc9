/**
 * A prom-client Histogram whose observations cost a few array updates: prom-client's own
 * `observe` validates and hashes the labels on every call (1.4 µs, more than the raw path's whole
 * routing decision), which shows in the front's cost per request (bench/front.ts). Observations
 * are kept per label value in plain arrays and turned into prom-client's export format only when
 * the registry is scraped. Only what the front needs: one label, fixed values known up front.
 */
import { Histogram, type Aggregator, type MetricValueWithName } from 'prom-client';

interface Series {
  /** Observations per bucket (not cumulative), the last one for values above every bound. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

/** One exported line; `le` is added to the label for bucket lines, as prom-client does. */
type ExportedValue<L extends string> = MetricValueWithName<L | 'le'> & { readonly sharedLabels: Readonly<Record<string, never>> };

/**
 * What prom-client's `Histogram.get()` and its registry read from `getForPromString()`. (Its
 * typings say `type` is a numeric enum; at run time it is the string.)
 */
interface Exported<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: Aggregator;
  readonly values: Array<ExportedValue<L>>;
}

export interface BatchedHistogramConfig<L extends string, V extends string> {
  readonly name: string;
  readonly help: string;
  /** The one label. */
  readonly label: L;
  /** Its possible values: each gets an index, `record` takes the index. */
  readonly values: readonly V[];
  readonly buckets: readonly number[];
}

export class BatchedHistogram<L extends string, V extends string> extends Histogram<L | 'le'> {
  private readonly series: Series[];
  private readonly bounds: readonly number[];
  private readonly labelName: L;
  private readonly labelValues: readonly V[];
  private readonly metricName: string;
  private readonly metricHelp: string;

  constructor(config: BatchedHistogramConfig<L, V>) {
    super({ name: config.name, help: config.help, labelNames: [config.label], buckets: [...config.buckets], registers: [] });
    this.metricName = config.name;
    this.metricHelp = config.help;
    this.bounds = [...config.buckets];
    this.labelName = config.label;
    this.labelValues = config.values;
    this.series = config.values.map(() => ({ buckets: new Float64Array(config.buckets.length + 1), sum: 0, count: 0 }));
  }

  /** Observes `value` for the label value at `index` in `values`. */
  record(index: number, value: number): void {
    const series = this.series[index];
    if (series === undefined || !Number.isFinite(value)) return;
    const bounds = this.bounds;
    let bucket = 0;
    while (bucket < bounds.length && value > (bounds[bucket] as number)) bucket++;
    series.buckets[bucket] = (series.buckets[bucket] as number) + 1;
    series.sum += value;
    series.count++;
  }

  /**
   * The export. prom-client's registry calls this, when present, to render the text format, and
   * its `Histogram.get()` (the JSON form) calls it too, so overriding it is enough.
   */
  getForPromString(): Promise<Exported<L>> {
    const name = this.metricName;
    return Promise.resolve({ name, help: this.metricHelp, type: 'histogram', aggregator: 'sum', values: this.exportedValues(name) });
  }

  override reset(): void {
    super.reset();
    // prom-client's constructor calls reset() before this class's fields exist.
    for (const series of this.series ?? []) {
      series.buckets.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }

  private exportedValues(name: string): Array<ExportedValue<L>> {
    const values: Array<ExportedValue<L>> = [];
    const bucketName = `${name}_bucket`;
    this.series.forEach((series, index) => {
      if (series.count === 0) return;
      const labelValue = this.labelValues[index] as V;
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += series.buckets[i] as number;
        values.push(this.value(bound, labelValue, cumulative, bucketName));
      });
      values.push(this.value('+Inf', labelValue, series.count, bucketName));
      values.push(this.value(undefined, labelValue, series.sum, `${name}_sum`));
      values.push(this.value(undefined, labelValue, series.count, `${name}_count`));
    });
    return values;
  }

  private value(le: number | string | undefined, labelValue: V, value: number, metricName: string): ExportedValue<L> {
    const labels: Partial<Record<L | 'le', string | number>> = {};
    if (le !== undefined) labels.le = le;
    labels[this.labelName] = labelValue;
    return { labels, value, metricName, sharedLabels: {} };
  }
}
