import {
  ApiGatewayManagementApiClient,
  GoneException,
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
    client = new ApiGatewayManagementApiClient({ endpoint });
    clients.set(endpoint, client);
  }
  return client;
}

/** Pushes an event to one connection. Resolves false when the connection is gone (410). */
export async function postToConnection(
  endpoint: string,
  connectionId: string,
  event: ServerEvent,
): Promise<boolean> {
  try {
    await clientFor(endpoint).send(
      new PostToConnectionCommand({
        ConnectionId: connectionId,
        Data: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof GoneException) return false;
    throw error;
  }
}
