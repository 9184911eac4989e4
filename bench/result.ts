// One benchmark figure, reported beside a baseline measured in the same run (machines here are noisy).
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** How many times better than the baseline (>1 is better), in the sense the note gives. */
  ratio?: number;
  note?: string;
}

export function timeIt<T>(fn: () => T): { ms: number; result: T } {
  const started = process.hrtime.bigint();
  const result = fn();
  return { ms: Number(process.hrtime.bigint() - started) / 1e6, result };
}

/** The median of `runs` timings, after one warm-up run. */
export function medianMs(runs: number, fn: () => unknown): number {
  fn();
  const times = Array.from({ length: runs }, () => timeIt(fn).ms).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * A module of the shipped build (dist/, what `governor` runs) instead of its source through tsx, typed as its source:
 * `shipped<typeof import("../src/x.js")>("x.js")`. bench/index.ts builds dist/ before the sections run.
 */
export async function shipped<T>(path: string): Promise<T> {
  return (await import(new URL(`../dist/${path}`, import.meta.url).href)) as T;
}
