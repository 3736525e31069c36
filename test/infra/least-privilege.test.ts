/**
 * Least privilege: each function's role holds exactly the statements its route table entry
 * yields (lambdas/route-grants.ts), its own log group, and for the queue-fed reaper what its
 * event source needs; nothing else, no managed policy, no wildcard action. The functions CDK adds
 * for the PWA are held to what they do: the web deployment to its sources, its bucket and its
 * log; the bucket emptier to the buckets it empties.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { resourceArn } from '../../infra/cdk/function-grants';
import { constructName, type CipherlineStack } from '../../infra/cdk/stack';
import { grantStatements } from '../../lambdas/route-grants';
import { ALL_FUNCTION_SPECS, ROUTE_TABLE } from '../../lambdas/route-table';
import { SETTING_KEYS } from '../../infra/cdk/settings';
import {
  handlerFunctionsOf,
  rendered,
  resourcesOf,
  synthesizeStack,
  type Resource,
} from '../support/cdk';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

let stack: CipherlineStack;
let template: Template;
beforeAll(() => {
  ({ stack, template } = synthesizeStack());
});

const logicalIdOf = (prefix: string, type: string) => {
  const ids = resourcesOf(template, type)
    .map(([id]) => id)
    .filter((id) => id.startsWith(prefix) && /^[0-9A-F]{8}$/.test(id.slice(prefix.length)));
  expect(ids, prefix).toHaveLength(1);
  return ids[0]!;
};

/** Statements of the policies attached to a role, by the role's logical id. */
const statementsOfRole = (roleId: string) =>
  resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, policy]) =>
      (policy.Properties.Roles as unknown[]).some(
        (ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId }),
      ),
    )
    .flatMap(
      ([, policy]) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );

/** Every statement of every policy attached to the role, plus its inline and managed policies. */
function roleStatements(name: string): { statements: Statement[]; role: Record<string, unknown> } {
  const roleId = logicalIdOf(`${constructName(name)}FunctionRole`, 'AWS::IAM::Role');
  const role = template.toJSON().Resources[roleId].Properties as Record<string, unknown>;
  return { statements: statementsOfRole(roleId), role };
}

const normalized = (statements: { Action: string | readonly string[]; Resource: unknown }[]) =>
  statements
    .map((s) =>
      JSON.stringify({
        Action: [s.Action].flat().sort(),
        Resource: [s.Resource]
          .flat()
          .map((r) => JSON.stringify(r))
          .sort(),
      }),
    )
    .sort();

const SQS_CONSUMER_ACTIONS = [
  'sqs:ChangeMessageVisibility',
  'sqs:DeleteMessage',
  'sqs:GetQueueAttributes',
  'sqs:GetQueueUrl',
  'sqs:ReceiveMessage',
];

describe('least privilege', () => {
  it.each(ALL_FUNCTION_SPECS.map(([name, spec]) => [name, spec] as const))(
    '%s: its role allows exactly what its route table entry declares',
    (name, spec) => {
      const { statements, role } = roleStatements(name);
      expect(role.ManagedPolicyArns, 'no managed policy').toBeUndefined();
      expect(role.Policies, 'no inline policy').toBeUndefined();
      expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);

      const targets = {
        tables: stack.data.tables,
        blobBucket: stack.data.blobBucket,
        stage: stack.api.stage,
        unboundQueue: stack.unboundQueue,
        deviceCredentialKey: stack.deviceCredentialKey,
      };
      const logGroup = logicalIdOf(`${constructName(name)}FunctionLogs`, 'AWS::Logs::LogGroup');
      const expected = [
        ...grantStatements(spec).map((s) => ({
          Action: s.actions,
          Resource: stack.resolve(resourceArn(s.resource, targets)),
        })),
        {
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] },
        },
        // The SQS event source of the queue-fed reaper: receiving, not sending.
        ...(name === 'reapUnbound'
          ? [
              {
                Action: SQS_CONSUMER_ACTIONS,
                Resource: stack.resolve(stack.unboundQueue.queueArn),
              },
            ]
          : []),
      ];
      expect(normalized(statements)).toEqual(normalized(expected));
    },
  );

  it('grants no wildcard action and no table-wide or account-wide resource', () => {
    for (const [name] of ALL_FUNCTION_SPECS)
      for (const statement of roleStatements(name).statements) {
        for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
        expect(JSON.stringify(statement.Resource)).not.toBe('"*"');
      }
  });

  it('resolves each kind of grant to the narrowest ARN: an index, the blobs/ prefix, one @connections method', () => {
    const text = (name: string) => JSON.stringify(roleStatements(name).statements);
    // No route queries an index since deliveries read mailboxes (the byUser index stays as a
    // repair path): an index grant still resolves to that index alone, a table query to the table.
    const targets = {
      tables: stack.data.tables,
      blobBucket: stack.data.blobBucket,
      stage: stack.api.stage,
      unboundQueue: stack.unboundQueue,
      deviceCredentialKey: stack.deviceCredentialKey,
    };
    const index = resourceArn({ kind: 'index', table: 'connections', index: 'byUser' }, targets);
    expect(JSON.stringify(stack.resolve(index))).toContain('/index/byUser');
    const ack = roleStatements('ack').statements;
    const queries = ack.filter((s) => [s.Action].flat().includes('dynamodb:Query'));
    expect(queries.length).toBeGreaterThan(0);
    expect(JSON.stringify(queries)).not.toContain('/index/');
    expect(text('send')).not.toContain('dynamodb:Query');
    expect(text('upload')).toContain('/blobs/*');
    expect(text('send')).toContain('/POST/@connections/*');
    expect(text('send')).not.toContain('DELETE');
    expect(text('reapUnbound')).toContain('/DELETE/@connections/*');
    expect(text('reapUnbound')).not.toContain('POST');
  });

  it('keeps routes that touch no table, bucket or connection to their logs', () => {
    expect(Object.keys(ROUTE_TABLE.$default.tables)).toEqual([]);
    const { statements } = roleStatements('$default');
    expect(statements.flatMap((s) => [s.Action].flat()).sort()).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
  });

  it('lets only $connect, and the routes that close their own connection after the reply, send to the unbound-connection queue', () => {
    const senders = ALL_FUNCTION_SPECS.filter(([name]) =>
      JSON.stringify(roleStatements(name).statements).includes('sqs:SendMessage'),
    ).map(([name]) => name);
    expect(senders.sort()).toEqual(['$connect', 'devices', 'signout'].sort());
  });

  it('lets only the routes that make or check device credentials read their key', () => {
    const readers = ALL_FUNCTION_SPECS.filter(([name]) =>
      JSON.stringify(roleStatements(name).statements).includes('secretsmanager:GetSecretValue'),
    ).map(([name]) => name);
    expect(readers.sort()).toEqual(['devices', 'password', 'signin', 'signup'].sort());
  });
});

const roleIdOf = (fn: Resource) =>
  (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];

describe('least privilege of the functions CDK adds', () => {
  const cdkFunctions = () => {
    const handlers = new Set(handlerFunctionsOf(template).map(([id]) => id));
    return resourcesOf(template, 'AWS::Lambda::Function').filter(([id]) => !handlers.has(id));
  };

  it('are exactly the web deployment and the web bucket emptier', () => {
    expect(
      cdkFunctions()
        .map(([id]) => id.replace(/[0-9A-F]{8,}$/, ''))
        .sort(),
    ).toEqual([
      'CustomCDKBucketDeployment',
      'CustomS3AutoDeleteObjectsCustomResourceProviderHandler',
    ]);
  });

  it('the web deployment reads its two source zips, lists the web bucket, puts and deletes its objects, writes its log', () => {
    const [, fn] = cdkFunctions().find(([id]) => id.startsWith('CustomCDKBucketDeployment'))!;
    const roleId = roleIdOf(fn);
    const role = template.toJSON().Resources[roleId].Properties as Record<string, unknown>;
    expect(role.ManagedPolicyArns, 'no managed policy').toBeUndefined();
    expect(role.Policies, 'no inline policy').toBeUndefined();

    const sources = new Set<string>();
    for (const [, deployment] of resourcesOf(template, 'Custom::CDKBucketDeployment')) {
      const { SourceBucketNames, SourceObjectKeys } = deployment.Properties as {
        SourceBucketNames: unknown[];
        SourceObjectKeys: string[];
      };
      SourceObjectKeys.forEach((key, i) =>
        sources.add(`arn:aws:s3:::${rendered(SourceBucketNames[i])}/${key}`),
      );
    }
    expect(sources.size).toBe(2); // the build and config.json
    const webBucket = resourcesOf(template, 'AWS::S3::Bucket').find(([id]) =>
      id.startsWith('WebBucket'),
    )![0];
    const logGroup = resourcesOf(template, 'AWS::Logs::LogGroup').find(([id]) =>
      id.startsWith('WebDeploymentLogs'),
    )![0];
    const statements = statementsOfRole(roleId).map((s) => ({
      Effect: s.Effect,
      Action: [s.Action].flat().sort(),
      Resource: [s.Resource].flat().map(rendered).sort(),
    }));
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['s3:GetObject'], Resource: [...sources].sort() },
      { Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [`<${webBucket}.Arn>`] },
      {
        Effect: 'Allow',
        Action: ['s3:DeleteObject', 's3:PutObject'],
        Resource: [`<${webBucket}.Arn>/*`],
      },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [`<${logGroup}.Arn>`],
      },
    ]);
    // Its permissions exist before CloudFormation first runs it.
    const policyId = resourcesOf(template, 'AWS::IAM::Policy').find(([, p]) =>
      JSON.stringify(p.Properties.Roles).includes(roleId),
    )![0];
    expect((fn as { DependsOn?: string[] }).DependsOn).toContain(policyId);
  });

  it.each([
    ['the default stack', {}, ['WebBucket']],
    ['a disposable stack', { [SETTING_KEYS.retainData]: 'false' }, ['DataBlobBucket', 'WebBucket']],
  ] as const)(
    'the bucket emptier of %s may empty only its buckets, through their bucket policies',
    (_name, context, buckets) => {
      const { template: t } = synthesizeStack(context);
      const [, fn] = resourcesOf(t, 'AWS::Lambda::Function').find(([id]) =>
        id.startsWith('CustomS3AutoDeleteObjects'),
      )!;
      const roleId = roleIdOf(fn);
      const role = t.toJSON().Resources[roleId].Properties as Record<string, unknown>;
      // CDK's provider: AWS's basic execution policy (its logs), nothing attached besides.
      expect(role.ManagedPolicyArns).toEqual([
        {
          'Fn::Sub':
            'arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole',
        },
      ]);
      expect(role.Policies).toBeUndefined();
      expect(JSON.stringify(resourcesOf(t, 'AWS::IAM::Policy'))).not.toContain(roleId);
      const grants = resourcesOf(t, 'AWS::S3::BucketPolicy').flatMap(([, policy]) =>
        (
          policy.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }
        ).Statement.filter((s) => JSON.stringify(s.Principal).includes(roleId)).map((s) => ({
          bucket: (policy.Properties.Bucket as { Ref: string }).Ref,
          statement: s,
        })),
      );
      expect(grants.map((g) => g.bucket.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual([...buckets]);
      for (const { bucket, statement } of grants) {
        expect([statement.Action].flat().sort()).toEqual([
          's3:DeleteObject*',
          's3:GetBucket*',
          's3:List*',
          's3:PutBucketPolicy',
        ]);
        expect([statement.Resource].flat().map(rendered).sort()).toEqual([
          `<${bucket}.Arn>`,
          `<${bucket}.Arn>/*`,
        ]);
      }
    },
  );
});
