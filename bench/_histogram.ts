/**
 * A log-bucketed latency histogram (2 % wide buckets) that load-generator processes fill
 * and the fan-out benchmark merges: millions of samples in a few hundred numbers.
 *
 * @module
 */

/** Bucket index → samples, as sent between processes. */
export type Histogram = Record<number, number>;

const GROWTH = Math.log(1.02);

/**
 * Adds one latency sample.
 *
 * @param histogram The histogram to add to.
 * @param micros The latency in µs.
 *
 * @example Record two samples
 * ```ts
 * import { percentiles, record } from "./_histogram.ts";
 * const histogram = {};
 * record(histogram, 1500);
 * record(histogram, 2500);
 * console.log(percentiles(histogram).samples); // 2
 * ```
 */
export function record(histogram: Histogram, micros: number): void {
  const bucket = Math.floor(Math.log(Math.max(1, micros)) / GROWTH);
  histogram[bucket] = (histogram[bucket] ?? 0) + 1;
}

/**
 * Adds every sample of `from` to `into`.
 *
 * @param into The histogram that grows.
 * @param from The histogram added.
 *
 * @example Merge two processes' samples
 * ```ts
 * import { merge, percentiles, record } from "./_histogram.ts";
 * const a = {};
 * const b = {};
 * record(a, 1000);
 * record(b, 3000);
 * merge(a, b);
 * console.log(percentiles(a).samples); // 2
 * ```
 */
export function merge(into: Histogram, from: Histogram): void {
  for (const [bucket, count] of Object.entries(from)) {
    into[Number(bucket)] = (into[Number(bucket)] ?? 0) + count;
  }
}

/** Percentiles of a histogram, in ms. */
export interface Percentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  samples: number;
}

/**
 * Reads percentiles off a histogram (each bucket stands for its geometric middle).
 *
 * @param histogram The samples.
 * @returns p50, p99, p99.9 and the largest bucket in ms; zeros when empty.
 *
 * @example The median of 99 fast samples and one slow one
 * ```ts
 * import { percentiles, record } from "./_histogram.ts";
 * const histogram = {};
 * for (let i = 0; i < 99; i++) record(histogram, 1000);
 * record(histogram, 50_000);
 * const { p50, max } = percentiles(histogram);
 * console.log(p50, max); // 1 and about 50 (ms, within 2 %)
 * ```
 */
export function percentiles(histogram: Histogram): Percentiles {
  const buckets = Object.entries(histogram)
    .map(([bucket, count]) => [Number(bucket), count])
    .sort((a, b) => a[0] - b[0]);
  const samples = buckets.reduce((sum, [, count]) => sum + count, 0);
  const ms = (bucket: number) => Math.round(Math.exp((bucket + 0.5) * GROWTH)) / 1000;
  const at = (fraction: number) => {
    const rank = Math.ceil(samples * fraction);
    let seen = 0;
    for (const [bucket, count] of buckets) {
      seen += count;
      if (seen >= rank) return ms(bucket);
    }
    return 0;
  };
  return {
    p50: at(0.5),
    p99: at(0.99),
    p999: at(0.999),
    max: samples ? ms(buckets[buckets.length - 1][0]) : 0,
    samples,
  };
}
