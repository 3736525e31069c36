import {
  ApiGatewayManagementApiClient,
  DeleteConnectionCommand,
  GoneException,
  LimitExceededException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import type { ServerEvent } from '../../protocol/events';
import { ENDPOINT_ENV, type LocalFunctionAccess } from './env';

const clients = new Map<string, ApiGatewayManagementApiClient>();
const localClients = new WeakMap<LocalFunctionAccess, Map<string, ApiGatewayManagementApiClient>>();

/** The @connections endpoint: from the environment locally, else derived from the event as AWS documents. */
export function managementEndpoint(domainName: string, stage: string): string {
  // || rather than ??: the SAM template declares the variable empty in AWS (infra/cdk/stack.ts).
  return process.env[ENDPOINT_ENV.managementApi] || `https://${domainName}/${stage}`;
}

/**
 * The @connections client for an endpoint, made once. Locally each function has its own, guarded
 * by its grants (./env.ts), so a route that may not push fails as it would in AWS.
 */
export function managementClient(
  endpoint: string,
  access?: LocalFunctionAccess,
): ApiGatewayManagementApiClient {
  let cache = clients;
  if (access) {
    cache = localClients.get(access) ?? new Map();
    localClients.set(access, cache);
  }
  let client = cache.get(endpoint);
  if (!client) {
    // Plain commands without per-command middleware: the resolved stack can be reused.
    client = new ApiGatewayManagementApiClient({ endpoint, cacheMiddleware: true });
    if (access) access.guard(client);
    cache.set(endpoint, client);
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
  client: ApiGatewayManagementApiClient = managementClient(endpoint),
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
export async function deleteConnection(
  connectionId: string,
  client: ApiGatewayManagementApiClient,
): Promise<void> {
  try {
    await client.send(new DeleteConnectionCommand({ ConnectionId: connectionId }));
  } catch (error) {
    if (!(error instanceof GoneException)) throw error;
  }
}
