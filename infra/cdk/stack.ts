/**
 * Cipherline on AWS: one WebSocket API with one Lambda per route of the shared route table,
 * each granted exactly the tables (read or read-write) and bucket access the table lists, plus
 * the background functions (fed by queues). Hardening (CloudFront for the PWA, cdk-nag, alarms)
 * is its own issue.
 */
import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BACKGROUND_FUNCTIONS, ROUTE_TABLE, type RouteSpec } from '../../lambdas/route-table';
import { UNBOUND_QUEUE_ENV } from '../../lambdas/runtime/delay-queue';
import { ROUTE_SELECTION_EXPRESSION, type RouteKey } from '../../protocol/routes';
import { BLOB_BUCKET, TABLES } from '../resources';
import { DataStores } from './data-stores';
import { HandlerFunction } from './handler-function';

const REPO_ROOT = join(import.meta.dirname, '../..');

/** "$connect" → "Connect", "reapUnbound" → "ReapUnbound": construct ids from route keys. */
export const constructName = (route: string) =>
  route.replace('$', '').replace(/^./, (c) => c.toUpperCase());

export class CipherlineStack extends Stack {
  private readonly data: DataStores;
  private readonly stage: WebSocketStage;
  private readonly unboundQueue: Queue;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.data = new DataStores(this, 'Data');
    const api = new WebSocketApi(this, 'WebSocketApi', {
      apiName: 'cipherline',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: api,
      stageName: 'prod',
      autoDeploy: true,
      throttle: { rateLimit: 500, burstLimit: 1000 },
    });
    this.unboundQueue = new Queue(this, 'UnboundConnectionQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.hours(1),
    });

    for (const [route, spec] of Object.entries(ROUTE_TABLE) as [RouteKey, RouteSpec][]) {
      const fn = this.makeFunction(route, spec);
      api.addRoute(route, {
        integration: new WebSocketLambdaIntegration(`${constructName(route)}Integration`, fn),
        // Command routes answer every frame with exactly one reply (the handler's return value).
        returnResponse: route !== '$connect' && route !== '$disconnect',
      });
    }
    const reaper = this.makeFunction('reapUnbound', BACKGROUND_FUNCTIONS.reapUnbound);
    reaper.addEventSource(new SqsEventSource(this.unboundQueue, { batchSize: 10 }));

    new CfnOutput(this, 'WebSocketUrl', { value: this.stage.url });
    new CfnOutput(this, 'BlobBucketName', { value: this.data.blobBucket.bucketName });
  }

  /** One function with exactly the grants and environment its spec names. */
  private makeFunction(name: string, spec: RouteSpec): HandlerFunction {
    const environment: Record<string, string> = {};
    for (const table of new Set([...spec.reads, ...spec.writes]))
      environment[TABLES[table].envVar] = this.data.tables[table].tableName;
    if (spec.bucket) environment[BLOB_BUCKET.envVar] = this.data.blobBucket.bucketName;
    if (spec.schedulesUnboundChecks) environment[UNBOUND_QUEUE_ENV] = this.unboundQueue.queueUrl;

    const fn = new HandlerFunction(this, `${constructName(name)}Function`, {
      entry: join(REPO_ROOT, spec.entry),
      description: `Cipherline ${name}`,
      environment,
    });
    for (const table of spec.reads) this.data.tables[table].grantReadData(fn);
    for (const table of spec.writes) this.data.tables[table].grantReadWriteData(fn);
    if (spec.bucket === 'read') this.data.blobBucket.grantRead(fn);
    if (spec.bucket === 'read-write') this.data.blobBucket.grantReadWrite(fn);
    if (spec.pushes) this.stage.grantManagementApiAccess(fn);
    if (spec.schedulesUnboundChecks) this.unboundQueue.grantSendMessages(fn);
    return fn;
  }
}
