/**
 * The server's one secret: the key of the device-credential MACs (lambdas/shared/device-credentials.ts).
 * It is in no table. In AWS the CDK stack creates a Secrets Manager secret with a generated value
 * (CloudFormation cannot create an SSM SecureString, and a plain parameter would put the value in
 * the template); a function granted it gets the secret's ARN and reads the value once per
 * container. Locally the stack generates a key per data folder and hands it over on the
 * invocation context (./local-config.ts), to the granted functions only.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LocalConfiguration } from './local-config';

export const DEVICE_CREDENTIAL_SECRET_ENV = 'DEVICE_CREDENTIAL_SECRET_ARN';

let fromSecretsManager: Promise<Uint8Array> | undefined;

async function readSecret(secretId: string): Promise<Uint8Array> {
  const { SecretString } = await new SecretsManagerClient({}).send(
    new GetSecretValueCommand({ SecretId: secretId }),
  );
  if (!SecretString) throw new Error('The device-credential secret has no value');
  return new TextEncoder().encode(SecretString);
}

/** `local` is the function's local-stack configuration; absent in AWS. */
export function deviceCredentialKey(local: LocalConfiguration | undefined): Promise<Uint8Array> {
  if (local) {
    return local.deviceCredentialKey
      ? Promise.resolve(local.deviceCredentialKey)
      : Promise.reject(new Error(`Missing environment variable ${DEVICE_CREDENTIAL_SECRET_ENV}`));
  }
  const secretId = process.env[DEVICE_CREDENTIAL_SECRET_ENV];
  if (!secretId)
    return Promise.reject(
      new Error(`Missing environment variable ${DEVICE_CREDENTIAL_SECRET_ENV}`),
    );
  // Once per container; a failed read is tried again by the next invocation.
  fromSecretsManager ??= readSecret(secretId).catch((error: unknown) => {
    fromSecretsManager = undefined;
    throw error;
  });
  return fromSecretsManager;
}
