/**
 * The cdk-nag AwsSolutions findings this stack accepts, each on the narrowest construct it
 * concerns and with the reason it is right here. Anything not listed fails synthesis
 * (infra/app.ts runs the checks; test/infra/cdk-nag.test.ts asserts zero open findings).
 */
import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { ALL_FUNCTION_SPECS } from '../../lambdas/route-table';

export const REASONS = {
  routesWithoutAuthorizer:
    'A WebSocket API can only authorize $connect; every other route runs on the connection it opened. ' +
    '$connect cannot check a credential either: browsers cannot set headers on a WebSocket and tokens ' +
    'never travel in URLs, so a connection starts unbound and its first frame is signup, signin or ' +
    'resume. Every other handler refuses an unbound connection with UNAUTHENTICATED (requireUser, ' +
    'lambdas/shared/sessions.ts), and reap-unbound closes connections still unbound after 10 s.',
  nodeRuntime:
    'Node.js 22 is the runtime the handlers are built for (esbuild target node22) and tested on: npm ' +
    'test runs the handler and local-cloud suites under Node 22 and imports every bundle in Node 22. ' +
    'Moving to a newer runtime is a deliberate change with its own test run.',
  blobKeys:
    'Blob keys are random ids made at upload time, so the statement names the blobs/ prefix of the one ' +
    'blob bucket; which user may read or write which blob is decided per request by the handlers ' +
    '(owner and grant records) before they sign a URL.',
  backupKeys:
    'Kept key backups are named by the random id of the upload they came from, so the statement names ' +
    'the backups/ prefix of the one blob bucket; the keys handler reads the user item to find the one ' +
    'backup of the signed-in user before it signs a URL or deletes one it replaced.',
  connectionIds:
    'Connection ids are assigned by API Gateway at run time; the statement is limited to this API, its ' +
    'one stage and one HTTP method of @connections.',
  blobAccessLogs:
    'S3 server access logs would record every presigned GET and PUT with the requester address and ' +
    'blob key: metadata about who exchanges files with whom that an end-to-end encrypted messenger ' +
    'deliberately does not keep. Every URL is signed by the upload and download handlers after their ' +
    'own checks, and API Gateway access logs record those calls (route, connection, status).',
  unboundQueueDlq:
    'The queue only carries "close this connection if still unbound" checks. A check that keeps ' +
    "failing is dropped after the one-hour retention; the connection then ends at API Gateway's idle " +
    'timeout (10 min), and the Lambda error alarm reports the failures. A dead-letter queue would ' +
    'hold nothing worth replaying.',
  deviceCredentialKeyRotation:
    'The secret is the MAC key of device credentials, which only decide which sign-in back-off an ' +
    'attempt is judged by (lambdas/shared/device-credentials.ts); it opens nothing. Rotating it revokes ' +
    "every device's credential at once, after which all devices share the account's back-off until " +
    'they sign in again, so it is rotated deliberately (after a suspected leak), not on a schedule.',
  webBucketAccessLogs:
    'Only CloudFront (through origin access control) reads the web bucket and only the deployment ' +
    'writes it; it holds the public PWA build, rewritten on every deploy. Its access log would list ' +
    "CloudFront's cache fills and the deployment's writes, nothing a person needs to look at.",
  webGeoRestriction:
    'A messenger for its users wherever they are. The distribution serves only the public app build; ' +
    "accounts and messages sit behind the WebSocket API's own checks, not behind CloudFront.",
  webFirewall:
    'The distribution serves only the static, public app build (GET and HEAD, no cookies or query ' +
    'strings forwarded, every object cacheable): there is no application behind it for WAF rules to ' +
    'protect, and AWS Shield Standard covers it at no charge. A web ACL would cost more per month ' +
    'than the whole idle stack.',
  webAccessLogs:
    "CloudFront access logs would record every visitor's IP address and browser each time the app is " +
    'opened: who uses the messenger and when, metadata an end-to-end encrypted messenger ' +
    "deliberately does not keep. CloudFront's request and error-rate metrics remain in CloudWatch.",
  webTlsVersion:
    "The distribution uses CloudFront's default *.cloudfront.net certificate, with which CloudFront " +
    'fixes the viewer security policy itself; choosing TLSv1.2_2021 needs a custom domain and an ACM ' +
    'certificate, which this stack does not require of a deployer. The browsers that run the PWA ' +
    'no longer speak TLS 1.0 or 1.1, so they connect with TLS 1.2 or 1.3.',
  webDeploymentObjects:
    'The web deployment writes every file of the PWA build and deletes the files a new build no ' +
    'longer has; their names change with every build (content hashes), so the statement names the ' +
    'objects of the one web bucket, with s3:PutObject and s3:DeleteObject only.',
  webDeploymentRuntime:
    "CDK's BucketDeployment handler (Python with the AWS CLI layer): aws-cdk-lib chooses and tests " +
    'its runtime together with its code. It runs only while CloudFormation deploys the stack, never ' +
    "on a user's request.",
  apiGatewayLogRole:
    'AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy for the account-wide role API ' +
    'Gateway writes access logs with (it allows log groups, streams and events only); AWS documents ' +
    'this exact managed policy for that role.',
} as const;

const acknowledge = (scope: IConstruct, id: string, reason: string) =>
  Validations.of(scope).acknowledge({ id, reason });

/** How cdk-nag writes a resource in a finding: its logical id in angle brackets. */
function findingRef(scope: IConstruct): string {
  const stack = Stack.of(scope);
  return stack.resolve(stack.getLogicalId(scope.node.defaultChild as CfnElement)) as string;
}

/**
 * The parts of the stack the acknowledgements name; ./stack.ts passes itself, so the two files
 * do not import each other.
 */
export interface AcknowledgedParts {
  readonly api: {
    readonly api: IConstruct;
    readonly stage: { readonly stageName: string };
    readonly cloudWatchRole?: IConstruct;
  };
  readonly data: { readonly blobBucket: IConstruct };
  readonly unboundQueue: IConstruct;
  readonly deviceCredentialKey: IConstruct;
  readonly functions: ReadonlyMap<string, IConstruct & { readonly role?: IConstruct }>;
  readonly web: {
    readonly bucket: IConstruct;
    readonly distribution: IConstruct;
    readonly deployment: { readonly role: IConstruct; readonly handler: IConstruct };
  };
}

export function acknowledgeFindings(stack: AcknowledgedParts): void {
  acknowledge(stack.api.api, 'AwsSolutions-APIG4', REASONS.routesWithoutAuthorizer);
  acknowledge(stack.data.blobBucket, 'AwsSolutions-S1', REASONS.blobAccessLogs);
  acknowledge(stack.unboundQueue, 'AwsSolutions-SQS3', REASONS.unboundQueueDlq);
  acknowledge(stack.deviceCredentialKey, 'AwsSolutions-SMG4', REASONS.deviceCredentialKeyRotation);
  acknowledgeWebFindings(stack);
  if (stack.api.cloudWatchRole)
    acknowledge(
      stack.api.cloudWatchRole,
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      REASONS.apiGatewayLogRole,
    );

  const bucket = findingRef(stack.data.blobBucket);
  const api = findingRef(stack.api.api);
  const connections = (method: string) =>
    `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${api}>/${stack.api.stage.stageName}/${method}/@connections/*]`;
  for (const [name, spec] of ALL_FUNCTION_SPECS) {
    const fn = stack.functions.get(name)!;
    acknowledge(fn, 'AwsSolutions-L1', REASONS.nodeRuntime);
    if (spec.bucket && spec.bucket.objects.length > 0)
      acknowledge(
        fn.role!,
        `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/blobs/*]`,
        REASONS.blobKeys,
      );
    if (spec.bucket?.backups && spec.bucket.backups.length > 0)
      acknowledge(
        fn.role!,
        `AwsSolutions-IAM5[Resource::<${bucket}.Arn>/backups/*]`,
        REASONS.backupKeys,
      );
    if (spec.pushes) acknowledge(fn.role!, connections('POST'), REASONS.connectionIds);
    if (spec.closesConnections) acknowledge(fn.role!, connections('DELETE'), REASONS.connectionIds);
  }
}

function acknowledgeWebFindings(stack: AcknowledgedParts): void {
  const { bucket, distribution, deployment } = stack.web;
  acknowledge(bucket, 'AwsSolutions-S1', REASONS.webBucketAccessLogs);
  acknowledge(distribution, 'AwsSolutions-CFR1', REASONS.webGeoRestriction);
  acknowledge(distribution, 'AwsSolutions-CFR2', REASONS.webFirewall);
  acknowledge(distribution, 'AwsSolutions-CFR3', REASONS.webAccessLogs);
  acknowledge(distribution, 'AwsSolutions-CFR4', REASONS.webTlsVersion);
  acknowledge(
    deployment.role,
    `AwsSolutions-IAM5[Resource::<${findingRef(bucket)}.Arn>/*]`,
    REASONS.webDeploymentObjects,
  );
  acknowledge(deployment.handler, 'AwsSolutions-L1', REASONS.webDeploymentRuntime);
}
