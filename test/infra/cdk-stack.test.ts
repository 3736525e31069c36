/** The CDK app synthesizes one Lambda and one route per entry of the shared route list. */
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { constructName } from '../../infra/cdk/stack';
import { BACKGROUND_FUNCTIONS, ROUTE_TABLE } from '../../lambdas/route-table';
import { grantedEnvironmentNames } from '../../lambdas/route-grants';
import { TABLES, TABLE_NAMES } from '../../lambdas/tables';
import { ALL_ROUTES, COMMAND_ROUTES, ROUTE_SELECTION_EXPRESSION } from '../../protocol/routes';
import { handlerFunctionsOf, synthesizeStack } from '../support/cdk';

const FUNCTION_COUNT = ALL_ROUTES.length + Object.keys(BACKGROUND_FUNCTIONS).length;
let template: Template;
beforeAll(() => {
  ({ template } = synthesizeStack());
});

type Resource = { Properties: Record<string, unknown> };
const resources = (type: string) => Object.values(template.findResources(type)) as Resource[];

describe('CipherlineStack', () => {
  it('has one Node 22 arm64 Lambda and one WebSocket route per route of the shared list', () => {
    // Besides them: CDK's web deployment and bucket emptier (test/infra/web-hosting.test.ts).
    template.resourceCountIs('AWS::Lambda::Function', FUNCTION_COUNT + 2);
    const handlers = handlerFunctionsOf(template).map(([, fn]) => fn);
    expect(handlers).toHaveLength(FUNCTION_COUNT);
    for (const fn of handlers) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
      });
    }
    expect(
      resources('AWS::ApiGatewayV2::Route')
        .map((r) => r.Properties.RouteKey)
        .sort(),
    ).toEqual([...ALL_ROUTES].sort());
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: ROUTE_SELECTION_EXPRESSION,
    });
  });

  it('returns each command route handler answer to the client (route responses), but not for $connect/$disconnect', () => {
    const withResponses = resources('AWS::ApiGatewayV2::Route').filter(
      (r) => r.Properties.RouteResponseSelectionExpression === '$default',
    );
    expect(withResponses.map((r) => r.Properties.RouteKey).sort()).toEqual(
      ['$default', ...COMMAND_ROUTES].sort(),
    );
  });

  it('builds every table from the shared definitions, with PITR, TTL and the user index', () => {
    template.resourceCountIs('AWS::DynamoDB::GlobalTable', TABLE_NAMES.length);
    for (const name of TABLE_NAMES) {
      const def = TABLES[name];
      template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
        KeySchema: Match.arrayWith([{ AttributeName: def.partitionKey.name, KeyType: 'HASH' }]),
        Replicas: [
          Match.objectLike({
            PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          }),
        ],
        ...('ttlAttribute' in def && {
          TimeToLiveSpecification: { AttributeName: def.ttlAttribute, Enabled: true },
        }),
      });
    }
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      GlobalSecondaryIndexes: [Match.objectLike({ IndexName: 'byUser' })],
    });
  });

  it('keeps the blob bucket private, encrypted, TLS-only, with CORS and lifecycle rules', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: Match.objectLike({}),
      CorsConfiguration: {
        CorsRules: [Match.objectLike({ AllowedMethods: Match.arrayWith(['GET', 'PUT']) })],
      },
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ ExpirationInDays: 30 }),
          Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('gives each function the table names of exactly the tables it is granted', () => {
    const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
    for (const [route, spec] of [
      ...Object.entries(ROUTE_TABLE),
      ...Object.entries(BACKGROUND_FUNCTIONS),
    ]) {
      const id = constructName(route);
      const fn = functions.find(([logicalId]) =>
        logicalId.startsWith(`${id}Function`),
      )![1] as Resource;
      const variables = Object.keys((fn.Properties.Environment as { Variables: object }).Variables);
      const expected = [...grantedEnvironmentNames(spec)].filter((v) => v.startsWith('TABLE_'));
      expect(variables.filter((v) => v.startsWith('TABLE_')).sort(), route).toEqual(
        expected.sort(),
      );
    }
  });

  it('closes unbound connections through a delay queue that only the functions that unbind may send to', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 10 });
    const functions = Object.entries(template.findResources('AWS::Lambda::Function'));
    const connect = functions.find(([id]) => id.startsWith('ConnectFunction'))![1] as Resource;
    expect(
      Object.keys((connect.Properties.Environment as { Variables: object }).Variables),
    ).toContain('UNBOUND_QUEUE_URL');
    // $connect, and the routes that close the caller's own connection after their reply.
    const scheduling = Object.entries(ROUTE_TABLE)
      .filter(([, spec]) => spec.schedulesUnboundChecks)
      .map(([route]) => `${constructName(route)}Function`)
      .sort();
    expect(scheduling).toEqual(['ConnectFunction', 'SignoutFunction', 'DevicesFunction'].sort());
    const senders = resources('AWS::IAM::Policy')
      .map((p) => JSON.stringify(p.Properties))
      .filter((p) => p.includes('sqs:SendMessage'));
    expect(senders).toHaveLength(scheduling.length);
    for (const name of scheduling)
      expect(
        senders.some((p) => p.includes(name)),
        name,
      ).toBe(true);
  });

  it('keeps the device-credential key in Secrets Manager, readable only by the functions that use it', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    const using = Object.entries(ROUTE_TABLE)
      .filter(([, spec]) => spec.readsDeviceCredentialKey)
      .map(([route]) => `${constructName(route)}Function`);
    expect(using.sort()).toEqual(
      ['SignupFunction', 'SigninFunction', 'DevicesFunction', 'PasswordFunction'].sort(),
    );
    const readers = resources('AWS::IAM::Policy')
      .map((p) => JSON.stringify(p.Properties))
      .filter((p) => p.includes('secretsmanager:GetSecretValue'));
    expect(readers).toHaveLength(using.length);
    for (const name of using)
      expect(
        readers.some((p) => p.includes(name)),
        name,
      ).toBe(true);
    // Cipherline's handlers (CDK's web deployment and bucket emptier have no environment).
    for (const [id, fn] of handlerFunctionsOf(template)) {
      const variables = fn.Properties.Environment as { Variables: object };
      expect('DEVICE_CREDENTIAL_SECRET_ARN' in variables.Variables, id).toBe(
        using.some((name) => id.startsWith(name)),
      );
    }
  });

  it('throttles the stage', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: Match.objectLike({
        ThrottlingRateLimit: Match.anyValue(),
        ThrottlingBurstLimit: Match.anyValue(),
      }),
    });
  });
});
