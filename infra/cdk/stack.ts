/**
 * Cipherline on AWS: one WebSocket API with one Lambda per route of the shared route table, each
 * granted exactly what its route table entry declares, the background functions (fed by queues),
 * the data stores, alarms, and the cdk-nag findings acknowledged with their reasons. The PWA's
 * hosting (S3 behind CloudFront) will be a construct of its own next to these, fed the WebSocket
 * URL and the blob bucket (whose CORS it narrows to its origin).
 */
import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { BACKGROUND_FUNCTIONS, ROUTE_TABLE, type RouteSpec } from '../../lambdas/route-table';
import { grantedEnvironmentNames } from '../../lambdas/route-grants';
import { UNBOUND_QUEUE_ENV } from '../../lambdas/runtime/delay-queue';
import { ENDPOINT_ENV } from '../../lambdas/runtime/env';
import type { RouteKey } from '../../protocol/routes';
import { BLOB_BUCKET, TABLES, TABLE_NAMES } from '../resources';
import { acknowledgeFindings } from './acknowledgements';
import { CipherlineAlarms } from './alarms';
import { DataStores } from './data-stores';
import { grantToFunction } from './function-grants';
import { DESCRIPTION_PREFIX } from './handler-bundles';
import { HandlerFunction } from './handler-function';
import { readSettings, type StackSettings } from './settings';
import { CipherlineApi } from './websocket-api';

const REPO_ROOT = join(import.meta.dirname, '../..');

/** "$connect" → "Connect", "reapUnbound" → "ReapUnbound": construct ids from route keys. */
export const constructName = (route: string) =>
  route.replace('$', '').replace(/^./, (c) => c.toUpperCase());

export interface CipherlineStackProps extends StackProps {
  /**
   * false leaves every cdk-nag finding open: the nag test synthesizes it so to show that each
   * acknowledgement answers a real finding. Always true for a deployment.
   */
  readonly acknowledgeFindings?: boolean;
}

export class CipherlineStack extends Stack {
  readonly settings: StackSettings;
  readonly data: DataStores;
  readonly api: CipherlineApi;
  readonly unboundQueue: Queue;
  /** Every handler, by route key or background function name. */
  readonly functions = new Map<string, HandlerFunction>();
  readonly alarms?: CipherlineAlarms;

  constructor(scope: Construct, id: string, props: CipherlineStackProps = {}) {
    super(scope, id, props);
    this.settings = readSettings(this);
    this.data = new DataStores(this, 'Data', { retainData: this.settings.retainData });
    this.api = new CipherlineApi(this, 'Api', { settings: this.settings });
    this.unboundQueue = new Queue(this, 'UnboundConnectionQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.hours(1),
    });

    for (const [route, spec] of Object.entries(ROUTE_TABLE) as [RouteKey, RouteSpec][]) {
      const fn = this.makeFunction(route, spec);
      this.api.api.addRoute(route, {
        integration: new WebSocketLambdaIntegration(`${constructName(route)}Integration`, fn),
        // Command routes answer every frame with exactly one reply (the handler's return value).
        returnResponse: route !== '$connect' && route !== '$disconnect',
      });
    }
    const reaper = this.makeFunction('reapUnbound', BACKGROUND_FUNCTIONS.reapUnbound);
    reaper.addEventSource(new SqsEventSource(this.unboundQueue, { batchSize: 10 }));

    if (this.settings.alarms)
      this.alarms = new CipherlineAlarms(this, 'Alarms', {
        functions: this.functions,
        tables: this.data.tables,
        stage: this.api.stage,
        alarmEmail: this.settings.alarmEmail,
      });
    if (props.acknowledgeFindings ?? true) acknowledgeFindings(this);

    new CfnOutput(this, 'WebSocketUrl', {
      value: this.api.stage.url,
      description: 'Where clients connect (the PWA and the terminal client)',
    });
    new CfnOutput(this, 'BlobBucketName', {
      value: this.data.blobBucket.bucketName,
      description: 'Encrypted files (retained unless cipherline:retainData=false)',
    });
    new CfnOutput(this, 'RetainedTables', {
      value: TABLE_NAMES.map((table) => this.data.tables[table].tableName).join(' '),
      description: 'Tables (retained unless cipherline:retainData=false)',
    });
  }

  /** One function with exactly the grants and environment its spec names. */
  private makeFunction(name: string, spec: RouteSpec): HandlerFunction {
    const environment: Record<string, string> = {};
    for (const variable of grantedEnvironmentNames(spec)) {
      const table = TABLE_NAMES.find((t) => TABLES[t].envVar === variable);
      environment[variable] = table
        ? this.data.tables[table].tableName
        : variable === BLOB_BUCKET.envVar
          ? this.data.blobBucket.bucketName
          : '';
    }
    if (spec.schedulesUnboundChecks) environment[UNBOUND_QUEUE_ENV] = this.unboundQueue.queueUrl;
    // Empty in AWS (the SDK's own endpoints); `sam local invoke --env-vars` sets them to the local cloud.
    if (this.settings.samLocal)
      for (const variable of Object.values(ENDPOINT_ENV)) environment[variable] = '';

    const fn = new HandlerFunction(this, `${constructName(name)}Function`, {
      entry: join(REPO_ROOT, spec.entry),
      description: `${DESCRIPTION_PREFIX}${name}`,
      environment,
      logRetention: this.settings.logRetention,
    });
    grantToFunction(fn, spec, {
      tables: this.data.tables,
      blobBucket: this.data.blobBucket,
      stage: this.api.stage,
      unboundQueue: this.unboundQueue,
    });
    this.functions.set(name, fn);
    return fn;
  }
}
