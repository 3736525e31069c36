/** Small statistics for the benchmarks: percentiles, medians, spreads, and figures as calibration multiples. */

export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
};

export const median = (values: readonly number[]): number => percentile(values, 50);

/** "median (min-max)" of repeated runs' figures. */
export function spread(values: readonly number[], digits = 1): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${median(sorted).toFixed(digits)} (${sorted[0]!.toFixed(digits)}-${sorted.at(-1)!.toFixed(digits)})`;
}

/** The machine's speed in this run: every figure is also printed as a multiple of these. */
export interface Calibration {
  /** One `ping` frame's round trip through the local gateway and its Lambda, median ms. */
  readonly pingMs: number;
  /** One DynamoDB GetItem through the AWS SDK against the stack's dynalite, median ms. */
  readonly getItemMs: number;
}

/** Figures of repeated rounds, each with the calibration measured next to it. */
export interface Calibrated {
  readonly ms: number;
  readonly calibration: Calibration;
}

/** "median (min-max)" of the rounds' figures in ms, in pings and in GetItems. */
export function calibratedSpread(rounds: readonly Calibrated[]): string {
  const ms = rounds.map((r) => r.ms);
  const pings = rounds.map((r) => r.ms / r.calibration.pingMs);
  const reads = rounds.map((r) => r.ms / r.calibration.getItemMs);
  return `${spread(ms)} ms = ${spread(pings)} pings = ${spread(reads)} GetItems`;
}

/** "12.3 ms = 4.1 pings = 9.0 GetItems". */
export const asMultiples = (ms: number, calibration: Calibration): string =>
  `${ms.toFixed(1)} ms = ${(ms / calibration.pingMs).toFixed(1)} pings = ${(ms / calibration.getItemMs).toFixed(1)} GetItems`;
