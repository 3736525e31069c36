/**
 * IAM, locally: every SDK call a handler makes is checked against the statements its route table
 * entry yields (lambdas/route-grants.ts `grantStatements`, the same statements the CDK stack puts
 * in the function's role). A call they do not cover fails with the error AWS would give, so a
 * missing grant shows in the local tests instead of after a deploy. The check is a middleware on
 * the function's own clients (lambdas/runtime/env.ts); an SDK operation this file cannot map to
 * IAM actions is refused too, so a new kind of call gets mapped before it is used.
 */
import type { InitializeHandler, InitializeMiddleware, MiddlewareStack } from '@smithy/types';
import {
  grantStatements,
  type FunctionGrants,
  type GrantResource,
} from '../../lambdas/route-grants';
import type { GuardableClient, LocalFunctionAccess } from '../../lambdas/runtime/env';
import { LOCAL_BUCKET_NAME, localTableName } from './names';
import { TABLE_NAMES, type TableName } from '../../lambdas/tables';
import { missingCase } from '../../protocol/missing-case';

/** One IAM action on one resource, as `grantStatements` names resources. */
interface Needed {
  readonly action: string;
  readonly resource: string;
}

export const resourceKey = (resource: GrantResource): string => {
  switch (resource.kind) {
    case 'table':
      return `table/${resource.table}`;
    case 'index':
      return `table/${resource.table}/index/${resource.index}`;
    case 'blobObjects':
      return `bucket/blobs/*`;
    case 'backupObjects':
      return `bucket/backups/*`;
    case 'blobBucket':
      return `bucket`;
    case 'connections':
      return `@connections/${resource.method}`;
    case 'unboundQueue':
      return `unbound-queue`;
    case 'deviceCredentialKey':
      return `secret/device-credential-key`;
    default: {
      return missingCase(resource);
    }
  }
};

const TABLE_OF_LOCAL_NAME = new Map<string, TableName>(
  TABLE_NAMES.map((table) => [localTableName(table), table]),
);

const tableResource = (name: unknown): string => {
  const table = TABLE_OF_LOCAL_NAME.get(String(name));
  return table ? `table/${table}` : `table/${String(name)} (not one of ours)`;
};

type Input = Record<string, unknown>;

function dynamoNeeds(operation: string, input: Input): Needed[] | undefined {
  const action = `dynamodb:${operation}`;
  switch (operation) {
    case 'GetItem':
    case 'PutItem':
    case 'UpdateItem':
    case 'DeleteItem':
      return [{ action, resource: tableResource(input.TableName) }];
    case 'Query':
    case 'Scan': {
      const table = tableResource(input.TableName);
      const index = input.IndexName as string | undefined;
      return [{ action, resource: index ? `${table}/index/${index}` : table }];
    }
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys((input.RequestItems as object | undefined) ?? {}).map((name) => ({
        action,
        resource: tableResource(name),
      }));
    default:
      return undefined;
  }
}

/** The IAM action behind each S3 operation the stores use. */
const S3_OBJECT_ACTIONS: Record<string, string> = {
  GetObject: 's3:GetObject',
  HeadObject: 's3:GetObject',
  PutObject: 's3:PutObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  AbortMultipartUpload: 's3:AbortMultipartUpload',
  DeleteObject: 's3:DeleteObject',
};

function s3Needs(operation: string, input: Input): Needed[] | undefined {
  const bucket = input.Bucket === LOCAL_BUCKET_NAME ? 'bucket' : `bucket ${String(input.Bucket)}`;
  if (operation === 'ListObjectsV2') return [{ action: 's3:ListBucket', resource: bucket }];
  const action = S3_OBJECT_ACTIONS[operation];
  if (!action) return undefined;
  const key = String(input.Key);
  const prefix = ['blobs/', 'backups/'].find((known) => key.startsWith(known));
  const object = prefix ? `${bucket}/${prefix}*` : `${bucket}/${key}`;
  // Without s3:ListBucket, S3 answers 403 instead of 404 for a missing key, which the stores read as absent.
  return operation === 'HeadObject'
    ? [
        { action, resource: object },
        { action: 's3:ListBucket', resource: bucket },
      ]
    : [{ action, resource: object }];
}

const CONNECTION_METHODS: Record<string, string> = {
  PostToConnection: 'POST',
  DeleteConnection: 'DELETE',
  GetConnection: 'GET',
};

function needsOf(clientName: string, operation: string, input: Input): Needed[] | undefined {
  switch (clientName) {
    case 'DynamoDBClient':
      return dynamoNeeds(operation, input);
    case 'S3Client':
      return s3Needs(operation, input);
    case 'ApiGatewayManagementApiClient': {
      const method = CONNECTION_METHODS[operation];
      if (!method) return undefined;
      return [{ action: 'execute-api:ManageConnections', resource: `@connections/${method}` }];
    }
    case 'SQSClient':
      return operation === 'SendMessage'
        ? [{ action: 'sqs:SendMessage', resource: 'unbound-queue' }]
        : undefined;
    // Locally the key comes on the invocation context (lambdas/runtime/local-config.ts), so no
    // handler calls Secrets Manager here; mapped so that one that did would be judged all the same.
    case 'SecretsManagerClient':
      return operation === 'GetSecretValue'
        ? [{ action: 'secretsmanager:GetSecretValue', resource: 'secret/device-credential-key' }]
        : undefined;
    default:
      return undefined;
  }
}

/** The error names each service gives a call its caller's policy does not allow. */
const DENIED: Record<string, { name: string; status: number }> = {
  DynamoDBClient: { name: 'AccessDeniedException', status: 400 },
  S3Client: { name: 'AccessDenied', status: 403 },
  ApiGatewayManagementApiClient: { name: 'ForbiddenException', status: 403 },
  SQSClient: { name: 'AccessDenied', status: 403 },
  SecretsManagerClient: { name: 'AccessDeniedException', status: 400 },
};

/** Sees every SDK call a local function makes (after its access check), e.g. to count requests. */
export type RequestObserver = (call: {
  readonly functionName: string;
  readonly clientName: string;
  readonly operation: string;
}) => void;

const observers = new Set<RequestObserver>();

/**
 * Tests only: calls `observer` for every SDK call of every local function (the same middleware
 * that checks its grants), until the returned function is called.
 */
export function observeLocalRequests(observer: RequestObserver): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

export class LocalAccessDenied extends Error {
  readonly $metadata: { httpStatusCode: number };
  constructor(clientName: string, message: string) {
    super(message);
    const denied = DENIED[clientName] ?? { name: 'AccessDenied', status: 403 };
    this.name = denied.name;
    this.$metadata = { httpStatusCode: denied.status };
  }
}

/** The access of one function, from its route table entry. */
export function localFunctionAccess(
  functionName: string,
  grants: FunctionGrants,
  environmentNames: ReadonlySet<string>,
): LocalFunctionAccess {
  const allowed = new Set<string>();
  for (const statement of grantStatements(grants))
    for (const action of statement.actions)
      allowed.add(`${action} on ${resourceKey(statement.resource)}`);

  const check = (clientName: string, operation: string, input: Input): void => {
    const needed = needsOf(clientName, operation, input);
    if (!needed)
      throw new LocalAccessDenied(
        clientName,
        `The local access guard does not know which IAM actions ${clientName} ${operation} needs: map it in infra/local/access-guard.ts before using it.`,
      );
    for (const { action, resource } of needed)
      if (!allowed.has(`${action} on ${resource}`))
        throw new LocalAccessDenied(
          clientName,
          `User: local/${functionName} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action (grant it in lambdas/route-table.ts).`,
        );
  };

  const middleware: InitializeMiddleware<Input, object> =
    (next: InitializeHandler<Input, object>, context) => async (args) => {
      const operation = String(context.commandName ?? '').replace(/Command$/, '');
      const clientName = String(context.clientName ?? '');
      check(clientName, operation, args.input);
      for (const observe of observers) observe({ functionName, clientName, operation });
      return next(args);
    };

  return {
    functionName,
    environmentNames,
    guard<C extends GuardableClient>(client: C): C {
      (client.middlewareStack as MiddlewareStack<Input, object>).add(middleware, {
        step: 'initialize',
        name: 'cipherlineLocalAccessGuard',
        priority: 'high',
      });
      return client;
    },
    check: (_service, action) => check('SQSClient', action, {}),
  };
}
