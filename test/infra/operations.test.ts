/**
 * Operations: stage throttling, access logs that carry no frame, alarms that cover every
 * function, the API and every table, log retention, and removal policies chosen on purpose.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { METRICS_PER_ALARM } from '../../infra/cdk/alarms';
import { SETTING_KEYS } from '../../infra/cdk/settings';
import { ACCESS_LOG_FIELDS, STAGE_THROTTLE } from '../../infra/cdk/websocket-api';
import { TABLES, TABLE_NAMES } from '../../lambdas/tables';
import { ENDPOINT_ENV } from '../../lambdas/runtime/env';
import { ALL_FUNCTION_SPECS } from '../../lambdas/route-table';
import { handlerFunctionsOf, resourcesOf, synthesizeStack } from '../support/cdk';

let template: Template;
beforeAll(() => {
  ({ template } = synthesizeStack());
});

type MetricQuery = {
  Id: string;
  Expression?: string;
  MetricStat?: { Metric: { MetricName: string; Namespace: string; Dimensions: object[] } };
};

const alarms = (t: Template) =>
  resourcesOf(t, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties);

/** Every metric any alarm watches, as "namespace metric dimensions". */
const watched = (t: Template) =>
  alarms(t).flatMap((alarm) =>
    (alarm.Metrics as MetricQuery[])
      .filter((m) => m.MetricStat)
      .map(
        ({ MetricStat }) =>
          `${MetricStat!.Metric.Namespace} ${MetricStat!.Metric.MetricName} ${JSON.stringify(MetricStat!.Metric.Dimensions)}`,
      ),
  );

describe('the WebSocket stage', () => {
  it('is throttled, with execution logging and data tracing off', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: {
        ThrottlingRateLimit: STAGE_THROTTLE.rateLimit,
        ThrottlingBurstLimit: STAGE_THROTTLE.burstLimit,
        LoggingLevel: 'OFF',
        DataTraceEnabled: false,
      },
    });
  });

  it('writes access logs of exactly the documented fields, none of which is a frame body', () => {
    const [[, stage]] = resourcesOf(template, 'AWS::ApiGatewayV2::Stage') as [
      [string, { Properties: { AccessLogSettings: { Format: string; DestinationArn: unknown } } }],
    ];
    const format = JSON.parse(stage.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toEqual(ACCESS_LOG_FIELDS);
    for (const variable of Object.values(format)) {
      expect(variable).toMatch(/^\$context\.[a-zA-Z.]+$/);
      expect(variable).not.toMatch(/body|input|payload/i);
    }
    const destination = JSON.stringify(stage.Properties.AccessLogSettings.DestinationArn);
    const accessLogs = resourcesOf(template, 'AWS::Logs::LogGroup').filter(([id]) =>
      id.startsWith('ApiAccessLogs'),
    );
    expect(accessLogs).toHaveLength(1);
    expect(destination).toContain(accessLogs[0]![0]);
  });

  it("sets the account's API Gateway logging role (kept on delete), unless told the account has one", () => {
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
    const roles = resourcesOf(template, 'AWS::IAM::Role').filter(([id]) =>
      id.startsWith('ApiCloudWatchRole'),
    );
    expect(roles).toHaveLength(1);
    expect(roles[0]![1].DeletionPolicy).toBe('Retain');
    const { template: without } = synthesizeStack({ [SETTING_KEYS.apiGatewayLogRole]: 'false' });
    without.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('alarms', () => {
  it('watch every function for errors and throttles', () => {
    const metrics = watched(template);
    for (const [name] of ALL_FUNCTION_SPECS)
      for (const metricName of ['Errors', 'Throttles']) {
        const id = name.replace('$', '').replace(/^./, (c) => c.toUpperCase());
        expect(
          metrics.filter(
            (m) => m.startsWith(`AWS/Lambda ${metricName} `) && m.includes(`"${id}Function`),
          ),
          `${name} ${metricName}`,
        ).toHaveLength(1);
      }
  });

  it("watch API Gateway's integration and execution errors (its 5xx) on the stage", () => {
    const metrics = watched(template);
    for (const metricName of ['IntegrationError', 'ExecutionError'])
      expect(metrics.filter((m) => m.startsWith(`AWS/ApiGateway ${metricName} `))).toHaveLength(1);
  });

  it('watch read and write throttling of every table and global index', () => {
    const metrics = watched(template).filter((m) => m.startsWith('AWS/DynamoDB '));
    const indexes = TABLE_NAMES.flatMap((t) => {
      const def = TABLES[t];
      return 'globalIndexes' in def ? def.globalIndexes : [];
    });
    expect(metrics).toHaveLength(2 * (TABLE_NAMES.length + indexes.length));
    expect(metrics.filter((m) => m.includes('GlobalSecondaryIndexName'))).toHaveLength(
      2 * indexes.length,
    );
  });

  it('alarm on any occurrence in five minutes, at most ten metrics each, missing data is fine', () => {
    for (const alarm of alarms(template)) {
      expect(alarm).toMatchObject({
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
      });
      const stats = (alarm.Metrics as MetricQuery[]).filter((m) => m.MetricStat);
      expect(stats.length).toBeLessThanOrEqual(METRICS_PER_ALARM);
      const sum = (alarm.Metrics as MetricQuery[]).find((m) => m.Expression)!.Expression;
      expect(sum).toBe(stats.map((m) => m.Id).join(' + '));
      expect(alarm.AlarmActions).toBeUndefined(); // no email given: no topic
    }
  });

  it('mail every alarm to the address given as context, through one SNS topic', () => {
    const { template: mailed } = synthesizeStack({ [SETTING_KEYS.alarmEmail]: 'ops@example.com' });
    mailed.resourceCountIs('AWS::SNS::Topic', 1);
    mailed.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
    const topic = resourcesOf(mailed, 'AWS::SNS::Topic')[0]![0];
    for (const alarm of alarms(mailed)) expect(alarm.AlarmActions).toEqual([{ Ref: topic }]);
    expect(() => synthesizeStack({ [SETTING_KEYS.alarmEmail]: 'not an address' })).toThrow(
      'must be an email address',
    );
  });

  it('are left out of a stack synthesized with cipherline:alarms=false', () => {
    const { template: quiet } = synthesizeStack({ [SETTING_KEYS.alarms]: 'false' });
    quiet.resourceCountIs('AWS::CloudWatch::Alarm', 0);
  });
});

describe('logs and removal policies', () => {
  it('keep every log group for the retention (30 days unless set), deleted with the stack', () => {
    const groups = resourcesOf(template, 'AWS::Logs::LogGroup');
    // One per function, plus access logs and the web deployment's.
    expect(groups).toHaveLength(ALL_FUNCTION_SPECS.length + 2);
    for (const [, group] of groups) {
      expect(group.Properties.RetentionInDays).toBe(30);
      expect(group.DeletionPolicy).toBe('Delete');
    }
    const { template: longer } = synthesizeStack({ [SETTING_KEYS.logRetentionDays]: '90' });
    for (const [, group] of resourcesOf(longer, 'AWS::Logs::LogGroup'))
      expect(group.Properties.RetentionInDays).toBe(90);
    expect(() => synthesizeStack({ [SETTING_KEYS.logRetentionDays]: '31' })).toThrow(
      'must be a CloudWatch Logs retention',
    );
  });

  /** Tables and the blob bucket; the web bucket holds only the build and always goes (emptied). */
  const dataStores = (t: Template) =>
    ['AWS::DynamoDB::GlobalTable', 'AWS::S3::Bucket'].flatMap((type) =>
      resourcesOf(t, type).filter(([id]) => !id.startsWith('WebBucket')),
    );
  const emptiedBuckets = (t: Template) =>
    resourcesOf(t, 'Custom::S3AutoDeleteObjects').map(([id]) => id.replace(/AutoDelete.*$/, ''));

  it('retain the tables and the blob bucket by default', () => {
    expect(dataStores(template)).toHaveLength(TABLE_NAMES.length + 1);
    for (const [id, resource] of dataStores(template))
      expect(resource.DeletionPolicy, id).toBe('Retain');
    expect(emptiedBuckets(template)).toEqual(['WebBucket']);
  });

  it('delete them, emptying the bucket first, when cipherline:retainData is false', () => {
    const { template: disposable } = synthesizeStack({ [SETTING_KEYS.retainData]: 'false' });
    for (const [id, resource] of dataStores(disposable))
      expect(resource.DeletionPolicy, id).toBe('Delete');
    expect(emptiedBuckets(disposable).sort()).toEqual(['DataBlobBucket', 'WebBucket']);
    expect(() => synthesizeStack({ [SETTING_KEYS.retainData]: 'maybe' })).toThrow(
      'must be true or false',
    );
  });
});

describe('SAM', () => {
  it('declares the local endpoint variables, empty, only when synthesized for SAM', () => {
    const names = (t: Template) =>
      handlerFunctionsOf(t).map(
        ([, fn]) => (fn.Properties.Environment as { Variables: Record<string, string> }).Variables,
      );
    for (const variables of names(template))
      for (const name of Object.values(ENDPOINT_ENV)) expect(variables[name]).toBeUndefined();
    const { template: sam } = synthesizeStack({ [SETTING_KEYS.samLocal]: 'true' });
    for (const variables of names(sam))
      for (const name of Object.values(ENDPOINT_ENV)) expect(variables[name]).toBe('');
  });
});
