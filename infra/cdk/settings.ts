/**
 * The deploy-time choices, read from CDK context (`-c key=value` or cdk.json). Every one has a
 * safe default, so a plain `cdk deploy` needs none of them.
 */
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

export const SETTING_KEYS = {
  /** `false`: tables and the blob bucket are deleted with the stack (development stacks only). */
  retainData: 'cipherline:retainData',
  /** `false`: no alarms (they are most of the cost at rest; a throwaway stack may skip them). */
  alarms: 'cipherline:alarms',
  /** An address that gets every alarm by email (an SNS topic with that subscription). */
  alarmEmail: 'cipherline:alarmEmail',
  /** Days to keep function and access logs (a CloudWatch Logs retention value). */
  logRetentionDays: 'cipherline:logRetentionDays',
  /**
   * `false`: do not set API Gateway's account-wide CloudWatch role, because the account already
   * has one (it is one setting per account and region, shared by every API).
   */
  apiGatewayLogRole: 'cipherline:apiGatewayLogRole',
  /** `true`: declare the local endpoint variables, so `sam local invoke` can point them at the local cloud. */
  samLocal: 'cipherline:samLocal',
} as const;

export interface StackSettings {
  readonly retainData: boolean;
  readonly alarms: boolean;
  readonly alarmEmail?: string;
  readonly logRetention: RetentionDays;
  readonly apiGatewayLogRole: boolean;
  readonly samLocal: boolean;
}

export const DEFAULT_LOG_RETENTION_DAYS = 30;

/** Context values from the CLI are strings, from cdk.json or tests JSON values. */
function flag(scope: Construct, key: string, fallback: boolean): boolean {
  const value: unknown = scope.node.tryGetContext(key);
  if (value === undefined) return fallback;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new Error(`Context ${key} must be true or false, not ${JSON.stringify(value)}.`);
}

export function readSettings(scope: Construct): StackSettings {
  const email: unknown = scope.node.tryGetContext(SETTING_KEYS.alarmEmail);
  if (email !== undefined && (typeof email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(email)))
    throw new Error(`Context ${SETTING_KEYS.alarmEmail} must be an email address.`);
  const days = Number(
    scope.node.tryGetContext(SETTING_KEYS.logRetentionDays) ?? DEFAULT_LOG_RETENTION_DAYS,
  );
  const retention = Object.values(RetentionDays).find((value) => value === days);
  if (retention === undefined)
    throw new Error(
      `Context ${SETTING_KEYS.logRetentionDays} must be a CloudWatch Logs retention (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ... days).`,
    );
  return {
    retainData: flag(scope, SETTING_KEYS.retainData, true),
    alarms: flag(scope, SETTING_KEYS.alarms, true),
    ...(typeof email === 'string' && { alarmEmail: email }),
    logRetention: retention as RetentionDays,
    apiGatewayLogRole: flag(scope, SETTING_KEYS.apiGatewayLogRole, true),
    samLocal: flag(scope, SETTING_KEYS.samLocal, false),
  };
}
