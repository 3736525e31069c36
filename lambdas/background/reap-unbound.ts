/**
 * Fed by the unbound-connection queue. A connection starts unbound; it may only call signup,
 * signin and resume, and is closed when it has not bound itself within a short grace period
 * (`unboundGraceMs` of lambdas/shared/limits.ts), so idle anonymous sockets cannot pile up.
 */
import type { Context, SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import type { UnboundCheck } from '../runtime/delay-queue';
import { type ServerDeps, serverDeps } from '../runtime/deps';
import { localAccessOf } from '../runtime/env';
import { coldStarts, requestLog } from '../runtime/log';
import { deleteConnection, managementClient } from '../runtime/management-api';

/** Closes the connection unless it is bound by now. Returns true when it closed it. */
export async function closeIfUnbound(
  deps: ServerDeps,
  connectionId: string,
  close: (connectionId: string) => Promise<void>,
): Promise<boolean> {
  // Past the cache: this container may have seen it bound before another one unbound it.
  if (await deps.connections.getFresh(connectionId, deps.now())) return false;
  await close(connectionId);
  return true;
}

/** The body the delay queue carries (lambdas/runtime/delay-queue.ts UnboundCheck). */
const UnboundCheckBody = z.object({
  connectionId: z.string().min(1).max(128),
  managementEndpoint: z.url({ protocol: /^https?$/ }),
}) satisfies z.ZodType<UnboundCheck>;

/**
 * Fed by the unbound-connection queue, in batches. A record that is not a valid check is logged
 * and dropped (a retry could not make it valid); a check that fails (DynamoDB, @connections) is
 * reported in `batchItemFailures`, so SQS retries that record alone, not the whole batch.
 */
const isColdStart = coldStarts();

export const handler = async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> => {
  const log = requestLog(context?.awsRequestId ?? 'local', isColdStart());
  const deps = serverDeps(context);
  const batchItemFailures: SQSBatchItemFailure[] = [];
  for (const record of event.Records) {
    const check = UnboundCheckBody.safeParse(parseBody(record.body));
    if (!check.success) {
      log.error('dropped an unbound-connection check that is not valid', {
        messageId: record.messageId,
        issues: check.error.issues.length,
      });
      continue;
    }
    const { connectionId, managementEndpoint } = check.data;
    try {
      const client = managementClient(managementEndpoint, localAccessOf(context));
      const closed = await closeIfUnbound(deps, connectionId, (id) => deleteConnection(id, client));
      if (closed) log.info('closed unbound connection', { connectionId });
    } catch (error) {
      log.error('unbound-connection check failed; SQS retries it', {
        messageId: record.messageId,
        error: error instanceof Error ? error.name : 'error',
      });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};

function parseBody(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
