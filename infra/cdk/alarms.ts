/**
 * Alarms on what needs a person: a handler that fails or is throttled, API Gateway failing to
 * run an integration (its 5xx), and DynamoDB throttling. Each alarm sums up to ten metrics (the
 * most one alarm may use), so the number of alarms stays small while every function and table
 * is covered; the alarm's description names what it covers. With an alarm email set, every
 * alarm also notifies an SNS topic that mails it.
 */
import { Duration } from 'aws-cdk-lib';
import type { IWebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { TABLES, TABLE_NAMES, type TableName } from '../../lambdas/tables';

/** CloudWatch allows at most this many metrics in one alarm's math expression. */
export const METRICS_PER_ALARM = 10;
export const ALARM_PERIOD = Duration.minutes(5);

export interface NamedMetric {
  /** What the metric is about, for the alarm's description. */
  readonly label: string;
  readonly metric: IMetric;
}

export interface CipherlineAlarmsProps {
  readonly functions: ReadonlyMap<string, IFunction>;
  readonly tables: Readonly<Record<TableName, ITableV2>>;
  readonly stage: IWebSocketStage;
  readonly alarmEmail?: string;
}

const sum = { statistic: 'Sum', period: ALARM_PERIOD } as const;

export class CipherlineAlarms extends Construct {
  readonly alarms: Alarm[] = [];
  readonly topic?: Topic;

  constructor(scope: Construct, id: string, props: CipherlineAlarmsProps) {
    super(scope, id);
    if (props.alarmEmail) {
      this.topic = new Topic(this, 'Topic', { displayName: 'Cipherline alarms', enforceSSL: true });
      this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
    }
    const functions = [...props.functions];
    this.alarmOnSum(
      'LambdaErrors',
      'Cipherline handlers failed (an invocation threw or timed out)',
      functions.map(([name, fn]) => ({ label: name, metric: fn.metricErrors(sum) })),
    );
    this.alarmOnSum(
      'LambdaThrottles',
      'Cipherline handlers were throttled (the account or region concurrency limit)',
      functions.map(([name, fn]) => ({ label: name, metric: fn.metricThrottles(sum) })),
    );
    const stageDimensions = { ApiId: props.stage.api.apiId, Stage: props.stage.stageName };
    this.alarmOnSum(
      'ApiIntegrationErrors',
      'API Gateway could not run a route handler or got an error from it (WebSocket 5xx)',
      ['IntegrationError', 'ExecutionError'].map((metricName) => ({
        label: metricName,
        metric: new Metric({
          namespace: 'AWS/ApiGateway',
          metricName,
          dimensionsMap: stageDimensions,
          ...sum,
        }),
      })),
    );
    this.alarmOnSum(
      'DynamoDbThrottles',
      'DynamoDB throttled reads or writes of Cipherline tables or indexes',
      dynamoThrottleMetrics(props.tables),
    );
  }

  /** Alarms when the sum of the metrics is at least 1 in a period, ten metrics per alarm. */
  private alarmOnSum(id: string, what: string, metrics: readonly NamedMetric[]): void {
    const groups = Math.ceil(metrics.length / METRICS_PER_ALARM);
    for (let group = 0; group < groups; group++) {
      const members = metrics.slice(group * METRICS_PER_ALARM, (group + 1) * METRICS_PER_ALARM);
      const usingMetrics = Object.fromEntries(members.map((m, i) => [`m${i}`, m.metric]));
      const alarm = new Alarm(this, groups > 1 ? `${id}${group + 1}` : id, {
        alarmDescription: `${what}: ${members.map((m) => m.label).join(', ')}.`,
        metric: new MathExpression({
          expression: Object.keys(usingMetrics).join(' + '),
          usingMetrics,
          period: ALARM_PERIOD,
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (this.topic) alarm.addAlarmAction(new SnsAction(this.topic));
      this.alarms.push(alarm);
    }
  }
}

/** Read and write throttle events of every table and global secondary index. */
function dynamoThrottleMetrics(tables: Readonly<Record<TableName, ITableV2>>): NamedMetric[] {
  const metrics: NamedMetric[] = [];
  for (const name of TABLE_NAMES) {
    const def = TABLES[name];
    const targets: { label: string; dimensions: Record<string, string> }[] = [
      { label: name, dimensions: { TableName: tables[name].tableName } },
      ...('globalIndexes' in def ? def.globalIndexes : []).map((index) => ({
        label: `${name}/${index.indexName}`,
        dimensions: {
          TableName: tables[name].tableName,
          GlobalSecondaryIndexName: index.indexName,
        },
      })),
    ];
    for (const target of targets)
      for (const metricName of ['ReadThrottleEvents', 'WriteThrottleEvents'])
        metrics.push({
          label: `${target.label} ${metricName === 'ReadThrottleEvents' ? 'reads' : 'writes'}`,
          metric: new Metric({
            namespace: 'AWS/DynamoDB',
            metricName,
            dimensionsMap: target.dimensions,
            ...sum,
          }),
        });
  }
  return metrics;
}
