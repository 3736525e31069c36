import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ServerEvent } from '../../protocol/frames';
import { ENDPOINT_ENV } from './env';

const clients = new Map<string, ApiGatewayManagementApiClient>();

/** The @connections endpoint: from the environment locally, else derived from the event as AWS documents. */
export function managementEndpoint(domainName: string, stage: string): string {
  return process.env[ENDPOINT_ENV.managementApi] ?? `https://${domainName}/${stage}`;
}

function clientFor(endpoint: string): ApiGatewayManagementApiClient {
  let client = clients.get(endpoint);
  if (!client) {
    // Plain commands without per-command middleware: the resolved stack can be reused.
    client = new ApiGatewayManagementApiClient({ endpoint, cacheMiddleware: true });
    clients.set(endpoint, client);
  }
  return client;
}

export const PUSH_RETRY = { attempts: 4, baseDelayMs: 50 } as const;

const isThrottled = (error: unknown) =>
  error instanceof LimitExceededException ||
  (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 429;

/** Full jitter: a random wait up to an exponentially growing cap, so retries do not stampede. */
const jitteredDelay = (attempt: number) => Math.random() * PUSH_RETRY.baseDelayMs * 2 ** attempt;

/**
 * Pushes an event to one connection. Resolves false when the connection is gone (410);
 * throttling (429) is retried with jittered exponential back-off.
 */
export async function postToConnection(
  endpoint: string,
  connectionId: string,
  event: ServerEvent,
  client: ApiGatewayManagementApiClient = clientFor(endpoint),
): Promise<boolean> {
  const command = new PostToConnectionCommand({
    ConnectionId: connectionId,
    Data: new TextEncoder().encode(JSON.stringify(event)),
  });
  for (let attempt = 0; ; attempt++) {
    try {
      await client.send(command);
      return true;
    } catch (error) {
      if (error instanceof GoneException) return false;
      if (!isThrottled(error) || attempt + 1 >= PUSH_RETRY.attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, jitteredDelay(attempt)));
    }
  }
}

/** Closes a connection from the server side; a connection already gone is fine. */
export async function deleteConnection(endpoint: string, connectionId: string): Promise<void> {
  try {
    await clientFor(endpoint).send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } catch (error) {
    if (!(error instanceof GoneException)) throw error;
  }
}
