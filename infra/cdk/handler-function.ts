/**
 * One Lambda with Cipherline's defaults set once: Node 22 on arm64, bundled by the local esbuild
 * (no Docker) with the AWS SDK inside, ESM output, JSON logs into a log group of its own with a
 * bounded retention, and a role of its own that starts with nothing but writing those logs.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { HANDLER_TIMEOUT_SECONDS } from '../../lambdas/timing';

/** The runtime AWS runs the handlers on; npm test runs the handler suites on the same major. */
export const HANDLER_RUNTIME = Runtime.NODEJS_22_X;

/**
 * How every handler is bundled. The SDK is bundled, not taken from the runtime: the version the
 * tests ran against is the version deployed, and a minified bundle loads faster than the
 * runtime's copy of the whole SDK (npm run bench:lambda measures the import).
 */
export const HANDLER_BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node22',
  minify: true,
  sourceMap: true,
  bundleAwsSDK: true,
  mainFields: ['module', 'main'],
  // Some CommonJS dependencies still call require() inside the ESM bundle.
  banner: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
};

export interface HandlerFunctionProps {
  /** Absolute path of the handler module (it exports `handler`). */
  readonly entry: string;
  readonly environment?: Record<string, string>;
  readonly description?: string;
  readonly logRetention: RetentionDays;
}

export class HandlerFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Not the managed AWSLambdaBasicExecutionRole: this function may write its own log group only.
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Cipherline ${props.description ?? id}: its log group and its route table grants`,
    });
    super(scope, id, {
      entry: props.entry,
      handler: 'handler',
      runtime: HANDLER_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(HANDLER_TIMEOUT_SECONDS),
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      role,
      description: props.description,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        LOG_LEVEL: 'info',
        ...props.environment,
      },
      bundling: HANDLER_BUNDLING,
    });
    logGroup.grantWrite(role);
  }
}
