/**
 * The local cloud: dynalite (DynamoDB API), s3rver (S3 API), the local API Gateway running the
 * real handlers from the route table, and optionally the PWA's Vite dev server, all in this
 * process, persisted in one data folder.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import S3rver from 's3rver';
import type { Context, SQSEvent } from 'aws-lambda';
import { BACKGROUND_FUNCTIONS, ROUTE_TABLE, type RouteSpec } from '../../lambdas/route-table';
import { grantedEnvironmentNames } from '../../lambdas/route-grants';
import { ENDPOINT_ENV, withLocalAccess } from '../../lambdas/runtime/env';
import {
  withLocalConfiguration,
  type LocalConfiguration,
} from '../../lambdas/runtime/local-config';
import { withOverrides, type LimitOverrides } from '../../lambdas/shared/limits';
import { useInProcessDelayQueue } from '../../lambdas/runtime/delay-queue';
import { makeDynamoClient } from '../../lambdas/runtime/aws';
import type { RouteKey } from '../../protocol/routes';
import { LOCAL_BUCKET_NAME } from './names';
import { blobCorsOrigins } from '../web-policy';
import { LOCAL_BASE_ENVIRONMENT, localLambdaEnvironment } from './aws-clients';
import { localFunctionAccess } from './access-guard';
import { corsXml, createMissingTables } from './bootstrap';
import { loadDeviceCredentialKey } from './device-credential-key';
import { lockDataFolder } from './data-lock';
import { startDynamoThread } from './dynamo-thread';
import { InProcessDelayQueue } from './delay-queue';
import { LocalGateway, type GatewayLimits, type LambdaHandler } from './gateway';
import { lambdaContext } from './gateway-events';
import { publicHostFor, S3_PROXY_PATH, startWebServer, type WebServer } from './web';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');

export interface LocalStackOptions {
  readonly dataDir: string;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly gatewayPort?: number;
  readonly dynamoPort?: number;
  readonly s3Port?: number;
  readonly webPort?: number;
  /** Serve the PWA too (Vite dev server). */
  readonly web?: boolean;
  /** Serve the PWA over HTTPS (self-signed) with same-origin proxies of the gateway and S3. */
  readonly https?: boolean;
  /** How other devices reach this machine (default: the listen address, or the LAN address for 0.0.0.0). */
  readonly publicHost?: string;
  /** Serve this production build of the PWA instead of the dev server. */
  readonly webBuiltDir?: string;
  /** The gateway's limits (frame and message sizes, timers); the real service's by default. */
  readonly limits?: Partial<GatewayLimits>;
  /**
   * The server's limits (lambdas/shared/limits.ts): the production values unless set here. This is
   * the only way to change them, and the CDK stack has none.
   */
  readonly serverLimits?: LimitOverrides;
  readonly onLog?: (line: string) => void;
}

export const DEFAULT_PORTS = { gateway: 3001, dynamo: 4567, s3: 4568, web: 5173 } as const;

export interface LocalStack {
  readonly gateway: LocalGateway;
  readonly endpoints: {
    readonly dynamodb: string;
    readonly s3: string;
    readonly managementApi: string;
    readonly websocket: string;
    readonly web?: string;
  };
  readonly createdTables: readonly string[];
  /** What its handlers are given besides their grants (for tests that invoke handlers directly). */
  readonly serverSettings: LocalServerSettings;
  stop(): Promise<void>;
}

async function importHandler<T>(entry: string): Promise<T> {
  const module = (await import(pathToFileURL(join(REPO_ROOT, entry)).href)) as { handler: T };
  return module.handler;
}

/** What the local stack hands every handler besides its grants (lambdas/runtime/local-config.ts). */
export interface LocalServerSettings {
  readonly limits: LocalConfiguration['limits'];
  readonly deviceCredentialKey: Uint8Array;
}

/**
 * A handler that sees only the table and bucket variables its spec grants and may make only the
 * AWS calls its grants allow, as in AWS (./access-guard.ts), with the stack's own configuration
 * (the device-credential key only when its spec grants it).
 */
export async function importGrantedHandler<E, R>(
  name: string,
  spec: RouteSpec,
  settings: LocalServerSettings,
): Promise<(event: E, context: Context) => Promise<R>> {
  const handler = await importHandler<(event: E, context: Context) => Promise<R>>(spec.entry);
  const access = localFunctionAccess(name, spec, grantedEnvironmentNames(spec));
  const configuration: LocalConfiguration = {
    limits: settings.limits,
    ...(spec.readsDeviceCredentialKey && { deviceCredentialKey: settings.deviceCredentialKey }),
  };
  return (event, context) =>
    handler(event, withLocalConfiguration(withLocalAccess(context, access), configuration));
}

export async function loadRouteHandlers(
  settings: LocalServerSettings,
): Promise<Map<string, LambdaHandler>> {
  const handlers = new Map<string, LambdaHandler>();
  for (const [route, spec] of Object.entries(ROUTE_TABLE) as [RouteKey, RouteSpec][]) {
    handlers.set(route, (await importGrantedHandler(route, spec, settings)) as LambdaHandler);
  }
  return handlers;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = resolve(options.dataDir);
  const releaseLock = lockDataFolder(dataDir);
  Object.assign(process.env, LOCAL_BASE_ENVIRONMENT);
  const cleanups: (() => Promise<void> | void)[] = [releaseLock];
  const stop = async () => {
    for (const cleanup of cleanups.reverse().splice(0)) await cleanup();
  };
  try {
    const dynamo = await startDynamoThread({
      path: join(dataDir, 'dynamodb'),
      host,
      port: options.dynamoPort ?? DEFAULT_PORTS.dynamo,
    });
    cleanups.push(() => dynamo.close());
    const dynamoPort = dynamo.port;
    const dynamodb = `http://${host}:${dynamoPort}`;

    const webPort = options.webPort ?? DEFAULT_PORTS.web;
    const s3rver = new S3rver({
      address: host,
      port: options.s3Port ?? DEFAULT_PORTS.s3,
      directory: join(dataDir, 's3'),
      silent: true,
      // As in AWS, pages on this machine may read blobs; the phone on the LAN uses the same-origin proxy.
      configureBuckets: [{ name: LOCAL_BUCKET_NAME, configs: [corsXml(blobCorsOrigins())] }],
    });
    const s3Address = await s3rver.run();
    cleanups.push(() => s3rver.close());
    const s3 = `http://${host}:${s3Address.port}`;

    const createdTables = await createMissingTables(makeDynamoClient(dynamodb));
    const settings: LocalServerSettings = {
      limits: withOverrides(options.serverLimits),
      deviceCredentialKey: loadDeviceCredentialKey(dataDir),
    };

    // The SQS delay queue's stand-in feeds the same background handler as in AWS.
    const reapUnbound = await importGrantedHandler<SQSEvent, void>(
      'reapUnbound',
      BACKGROUND_FUNCTIONS.reapUnbound,
      settings,
    );
    const unboundQueue = new InProcessDelayQueue((event) =>
      reapUnbound(event, lambdaContext('cipherline-reap-unbound')),
    );
    useInProcessDelayQueue(unboundQueue);
    cleanups.push(async () => {
      await unboundQueue.stop();
      useInProcessDelayQueue(undefined);
    });

    // Lambdas read their configuration from the environment, in AWS and here alike.
    const gateway = await LocalGateway.start({
      handlers: await loadRouteHandlers(settings),
      port: options.gatewayPort ?? DEFAULT_PORTS.gateway,
      host,
      limits: options.limits,
      onLog: options.onLog,
    });
    cleanups.push(() => gateway.stop());
    Object.assign(
      process.env,
      localLambdaEnvironment({ dynamodb, s3, managementApi: gateway.managementEndpoint }),
    );

    let web: WebServer | undefined;
    let webUrl: string | undefined;
    if (options.web) {
      const publicHost = options.publicHost ?? publicHostFor(host);
      web = await startWebServer({
        port: webPort,
        host,
        gatewayUrl: gateway.url,
        s3Endpoint: s3,
        publicHost,
        ...(options.https && { httpsCertDir: join(dataDir, 'tls') }),
        ...(options.webBuiltDir && { builtDir: options.webBuiltDir }),
      });
      cleanups.push(() => web?.close());
      webUrl = web.url;
      if (options.https) {
        // Presigned URLs must name the origin the browser reaches S3 through: the proxy.
        webUrl = `https://${publicHost}:${web.port}/`;
        process.env[ENDPOINT_ENV.s3Public] = new URL(S3_PROXY_PATH, webUrl).href;
        cleanups.push(() => void delete process.env[ENDPOINT_ENV.s3Public]);
      }
    }
    return {
      gateway,
      endpoints: {
        dynamodb,
        s3,
        managementApi: gateway.managementEndpoint,
        websocket: gateway.url,
        ...(webUrl && { web: webUrl }),
      },
      createdTables,
      serverSettings: settings,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
