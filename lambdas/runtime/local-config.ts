/**
 * What only the local stack can hand a handler: other limits for tests and benchmarks, and the
 * device-credential key it keeps in its data folder. It travels on the invocation's Lambda
 * context, as the grants do (./env.ts). In AWS no context carries it, so handlers run with the
 * production limits and read the key from Secrets Manager: the CDK stack has no way to set either.
 */
import { PRODUCTION_LIMITS, type ServerLimits } from '../shared/limits';

const LOCAL_CONFIGURATION = Symbol('cipherline.localConfiguration');

export interface LocalConfiguration {
  readonly limits: ServerLimits;
  /** Only for functions whose route-table entry grants the device-credential key. */
  readonly deviceCredentialKey?: Uint8Array;
}

/** Local stack only: the invocation's context, marked with its function's configuration. */
export function withLocalConfiguration<C extends object>(
  context: C,
  configuration: LocalConfiguration,
): C {
  return Object.assign(Object.create(context) as C, { [LOCAL_CONFIGURATION]: configuration });
}

export function localConfigurationOf(context: object | undefined): LocalConfiguration | undefined {
  return (context as { [LOCAL_CONFIGURATION]?: LocalConfiguration } | undefined)?.[
    LOCAL_CONFIGURATION
  ];
}

export const limitsOf = (context: object | undefined): ServerLimits =>
  localConfigurationOf(context)?.limits ?? PRODUCTION_LIMITS;
