/**
 * One Lambda with Cipherline's defaults set once: Node 22 on arm64, bundled by the local esbuild
 * (no Docker), ESM output, JSON logs with a bounded retention.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime } from 'aws-cdk-lib/aws-lambda';
import {
  NodejsFunction,
  OutputFormat,
  type NodejsFunctionProps,
} from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { HANDLER_TIMEOUT_SECONDS } from '../resources';

export interface HandlerFunctionProps {
  /** Absolute path of the handler module (it exports `handler`). */
  readonly entry: string;
  readonly environment?: Record<string, string>;
  readonly description?: string;
}

export class HandlerFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const defaults: NodejsFunctionProps = {
      entry: props.entry,
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 512,
      timeout: Duration.seconds(HANDLER_TIMEOUT_SECONDS),
      loggingFormat: LoggingFormat.JSON,
      logGroup,
      description: props.description,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        LOG_LEVEL: 'info',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        mainFields: ['module', 'main'],
        // Some CommonJS dependencies still call require() inside the ESM bundle.
        banner:
          "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
    };
    super(scope, id, defaults);
  }
}
