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
