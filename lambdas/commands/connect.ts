import { delayQueue } from '../runtime/delay-queue';
import { localAccessOf } from '../runtime/env';
import { limitsOf } from '../runtime/local-config';
import { managementEndpoint } from '../runtime/management-api';
import type { WebSocketHandler } from '../runtime/route';

/** Every connection starts unbound: schedule the check that closes it if it does not sign in in time. */
export const handler: WebSocketHandler = async (event, context) => {
  const { connectionId, domainName, stage } = event.requestContext;
  await delayQueue(localAccessOf(context)).schedule(
    { connectionId, managementEndpoint: managementEndpoint(domainName, stage) },
    limitsOf(context).unboundGraceMs,
  );
  return { statusCode: 200 };
};
