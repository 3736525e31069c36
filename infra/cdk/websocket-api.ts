/**
 * The WebSocket API and its one stage: route selection on the frame's `action`, stage throttling,
 * and access logs that say who called which route with what outcome, never what was sent.
 * Execution logging stays off (with data tracing it would log frames); no $context variable
 * carries a message body, so the access log cannot either.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat, CfnAccount } from 'aws-cdk-lib/aws-apigateway';
import {
  LogGroupLogDestination,
  WebSocketApi,
  WebSocketStage,
  type CfnStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { ManagedPolicy, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ROUTE_SELECTION_EXPRESSION } from '../../protocol/routes';
import type { StackSettings } from './settings';

/** Requests per second for the whole stage, steady and in bursts (API Gateway's token bucket). */
export const STAGE_THROTTLE = { rateLimit: 500, burstLimit: 1000 } as const;

/**
 * One JSON line per connect, disconnect and frame. `messageId` is API Gateway's id of the frame,
 * not the client's message id; `sourceIp` is kept for abuse investigations, for as long as the
 * log retention says.
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTimeEpoch: '$context.requestTimeEpoch',
  eventType: '$context.eventType',
  routeKey: '$context.routeKey',
  connectionId: '$context.connectionId',
  messageId: '$context.messageId',
  status: '$context.status',
  integrationLatency: '$context.integrationLatency',
  error: '$context.error.message',
  sourceIp: '$context.identity.sourceIp',
} as const;

export interface CipherlineApiProps {
  readonly settings: StackSettings;
}

export class CipherlineApi extends Construct {
  readonly api: WebSocketApi;
  readonly stage: WebSocketStage;
  readonly accessLogs: LogGroup;
  /** The account-wide role API Gateway logs with, when this stack sets it. */
  readonly cloudWatchRole?: Role;

  constructor(scope: Construct, id: string, props: CipherlineApiProps) {
    super(scope, id);
    this.api = new WebSocketApi(scope, 'WebSocketApi', {
      apiName: 'cipherline',
      routeSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.settings.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new WebSocketStage(scope, 'Stage', {
      webSocketApi: this.api,
      stageName: 'prod',
      autoDeploy: true,
      throttle: STAGE_THROTTLE,
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    const stage = this.stage.node.defaultChild as CfnStage;
    stage.addPropertyOverride('DefaultRouteSettings.LoggingLevel', 'OFF');
    stage.addPropertyOverride('DefaultRouteSettings.DataTraceEnabled', false);

    if (props.settings.apiGatewayLogRole) {
      // WebSocket access logs are written with the account's API Gateway CloudWatch role. It is
      // kept when the stack is deleted: other APIs of the account may log with it.
      this.cloudWatchRole = new Role(this, 'CloudWatchRole', {
        assumedBy: new ServicePrincipal('apigateway.amazonaws.com'),
        managedPolicies: [
          ManagedPolicy.fromAwsManagedPolicyName(
            'service-role/AmazonAPIGatewayPushToCloudWatchLogs',
          ),
        ],
      });
      this.cloudWatchRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
      const account = new CfnAccount(this, 'Account', {
        cloudWatchRoleArn: this.cloudWatchRole.roleArn,
      });
      this.stage.node.addDependency(account);
    }
  }
}
