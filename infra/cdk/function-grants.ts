/**
 * The route table's grants as IAM statements: each statement of `grantStatements`
 * (lambdas/route-grants.ts) with its resource resolved to this stack's ARN. Nothing else is
 * granted to a handler's role besides writing its own log group (./handler-function.ts) and,
 * for a queue-fed function, what its event source needs to consume.
 */
import { Stack } from 'aws-cdk-lib';
import type { IWebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, type IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import {
  grantStatements,
  type FunctionGrants,
  type GrantResource,
} from '../../lambdas/route-grants';
import type { TableName } from '../../lambdas/tables';
import { missingCase } from '../../protocol/missing-case';

export interface GrantTargets {
  readonly tables: Readonly<Record<TableName, ITableV2>>;
  readonly blobBucket: IBucket;
  readonly stage: IWebSocketStage;
  readonly unboundQueue: IQueue;
  readonly deviceCredentialKey: ISecret;
}

/** The ARN a grant resource stands for in this stack. */
export function resourceArn(resource: GrantResource, targets: GrantTargets): string {
  switch (resource.kind) {
    case 'table':
      return targets.tables[resource.table].tableArn;
    case 'index':
      return `${targets.tables[resource.table].tableArn}/index/${resource.index}`;
    case 'blobObjects':
      return targets.blobBucket.arnForObjects('blobs/*');
    case 'backupObjects':
      return targets.blobBucket.arnForObjects('backups/*');
    case 'blobBucket':
      return targets.blobBucket.bucketArn;
    case 'connections': {
      // execute-api:ManageConnections is granted per stage and HTTP method of @connections.
      const { stage } = targets;
      const api = Stack.of(stage).formatArn({ service: 'execute-api', resource: stage.api.apiId });
      return `${api}/${stage.stageName}/${resource.method}/@connections/*`;
    }
    case 'unboundQueue':
      return targets.unboundQueue.queueArn;
    case 'deviceCredentialKey':
      return targets.deviceCredentialKey.secretArn;
    default: {
      return missingCase(resource);
    }
  }
}

/** Adds exactly the statements of these grants to the function's role. */
export function grantToFunction(
  fn: IGrantable,
  grants: FunctionGrants,
  targets: GrantTargets,
): void {
  for (const statement of grantStatements(grants))
    fn.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [...statement.actions],
        resources: [resourceArn(statement.resource, targets)],
      }),
    );
}
