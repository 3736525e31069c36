/**
 * `npm start -- --limits '<json>'`: the server limits a local stack runs with, for benchmarks and
 * demos (e.g. `{"signupsPerAddressPerHour": 1000}`). Only the local stack reads this; in AWS the
 * handlers always run with the production values (lambdas/shared/limits.ts).
 */
import { z } from 'zod';
import { PRODUCTION_LIMITS, type LimitOverrides } from '../../lambdas/shared/limits';

const Count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const { perMinute, ...scalars } = PRODUCTION_LIMITS;

const LimitOverridesSchema = z
  .object({
    ...Object.fromEntries(Object.keys(scalars).map((name) => [name, Count.optional()])),
    perMinute: z
      .object(Object.fromEntries(Object.keys(perMinute).map((name) => [name, Count.optional()])))
      .strict()
      .optional(),
  })
  .strict();

/** The overrides in `json`, or an error saying which names and values are allowed. */
export function parseLimitOverrides(json: string): LimitOverrides {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new Error(`--limits takes a JSON object, e.g. '{"signupsPerAddressPerHour": 1000}'.`);
  }
  const parsed = LimitOverridesSchema.safeParse(value);
  if (!parsed.success) {
    const names = [...Object.keys(scalars), ...Object.keys(perMinute).map((n) => `perMinute.${n}`)];
    throw new Error(
      `--limits: ${parsed.error.issues[0]?.message ?? 'invalid'} at "${parsed.error.issues[0]?.path.join('.')}". Limits are whole numbers named ${names.join(', ')}.`,
    );
  }
  return parsed.data as LimitOverrides;
}
