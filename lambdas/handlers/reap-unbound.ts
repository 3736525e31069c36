import type { Context, SQSEvent } from 'aws-lambda';
import { closeIfUnbound } from '../core/unbound';
import type { UnboundCheck } from '../runtime/delay-queue';
import { serverDeps } from '../runtime/deps';
import { log } from '../runtime/log';
import { localAccessOf } from '../runtime/env';
import { deleteConnection, managementClient } from '../runtime/management-api';

/** Fed by the unbound-connection queue: closes each connection that did not sign in in time. */
export const handler = async (event: SQSEvent, context?: Context): Promise<void> => {
  const deps = serverDeps(context);
  for (const record of event.Records) {
    const check = JSON.parse(record.body) as UnboundCheck;
    const client = managementClient(check.managementEndpoint, localAccessOf(context));
    const closed = await closeIfUnbound(deps, check.connectionId, (id) =>
      deleteConnection(id, client),
    );
    if (closed) log.info('closed unbound connection', { connectionId: check.connectionId });
  }
};
