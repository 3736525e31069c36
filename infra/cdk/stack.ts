/**
 * Cipherline on AWS: one WebSocket API with one Lambda per route of the shared route table,
 * each granted exactly the tables (read or read-write) and bucket access the table lists.
 * Hardening (CloudFront for the PWA, cdk-nag, alarms) is its own issue.
 */
import { join } from 'node:path';
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import { WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { Construct } from 'constructs';
import { ROUTE_TABLE, type RouteSpec } from '../../lambdas/route-table';
import { ROUTE_SELECTION_EXPRESSION, type RouteKey } from '../../protocol/routes';
import { BLOB_BUCKET, TABLES } from '../resources';
import { DataStores } from './data-stores';
import { HandlerFunction } from './handler-function';

const REPO_ROOT = join(import.meta.dirname, '../..');

/** "$connect" → "Connect", "sendgroup" → "Sendgroup": construct ids from route keys. */
const constructName = (route: RouteKey) =>
  route.replace('$', '').replace(/^./, (c) => c.toUpperCase());

export class CipherlineStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const data = new DataStores(this, 'Data');
    const api = new WebSocketApi(this, 'WebSocketApi', {
      apiName: 'cipherline',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    const stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: api,
      stageName: 'prod',
      autoDeploy: true,
      throttle: { rateLimit: 500, burstLimit: 1000 },
    });

    for (const [route, spec] of Object.entries(ROUTE_TABLE) as [RouteKey, RouteSpec][]) {
      const fn = new HandlerFunction(this, `${constructName(route)}Function`, {
        entry: join(REPO_ROOT, spec.entry),
        description: `Cipherline route ${route}`,
        environment: this.environmentFor(spec, data),
      });
      for (const table of spec.reads) data.tables[table].grantReadData(fn);
      for (const table of spec.writes) data.tables[table].grantReadWriteData(fn);
      if (spec.bucket === 'read') data.blobBucket.grantRead(fn);
      if (spec.bucket === 'read-write') data.blobBucket.grantReadWrite(fn);
      if (spec.pushes) stage.grantManagementApiAccess(fn);
      api.addRoute(route, {
        integration: new WebSocketLambdaIntegration(`${constructName(route)}Integration`, fn),
        // Command routes answer every frame with exactly one reply (the handler's return value).
        returnResponse: route !== '$connect' && route !== '$disconnect',
      });
    }

    new CfnOutput(this, 'WebSocketUrl', { value: stage.url });
    new CfnOutput(this, 'BlobBucketName', { value: data.blobBucket.bucketName });
  }

  /** Only the names of the tables and bucket a function may touch. */
  private environmentFor(spec: RouteSpec, data: DataStores): Record<string, string> {
    const env: Record<string, string> = {};
    for (const table of new Set([...spec.reads, ...spec.writes]))
      env[TABLES[table].envVar] = data.tables[table].tableName;
    if (spec.bucket) env[BLOB_BUCKET.envVar] = data.blobBucket.bucketName;
    return env;
  }
}
