/** A bounded pool: runs `work` over `items` at most `limit` at a time, results in input order. */
export async function mapWithPool<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Concurrent pushes and store calls per fan-out (DESIGN.md section 5: a bounded pool). */
export const FAN_OUT_CONCURRENCY = 16;

/** Runs each task given to it with at most `limit` running at once (tasks may be added over time). */
export function createLimiter(limit: number): <R>(task: () => Promise<R>) => Promise<R> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await task();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
}

/** Inbox pointers written per BatchWriteItem call (DynamoDB's limit). */
export const POINTERS_PER_BATCH = 25;

/** BatchWriteItem calls of one fan-out in flight at once (a 256-member group needs 11). */
export const POINTER_BATCHES_AT_ONCE = 4;
