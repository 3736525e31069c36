/** What a handler's bundle pulls in: a function that needs no stores ships no DynamoDB or S3 client. */
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

async function bundledPackages(entry: string): Promise<string[]> {
  const { metafile } = await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return Object.keys(metafile.inputs);
}

describe('handler bundles', () => {
  it.each(['lambdas/commands/default.ts', 'lambdas/commands/connect.ts'])(
    '%s has no store clients',
    async (entry) => {
      const inputs = await bundledPackages(entry);
      expect(inputs.filter((path) => /@aws-sdk\/(client-dynamodb|client-s3)\//.test(path))).toEqual(
        [],
      );
    },
  );

  it('only the routes that use them bundle the Secrets Manager and SQS clients', async () => {
    const clients = async (entry: string) => {
      const inputs = await bundledPackages(entry);
      return ['client-secrets-manager', 'client-sqs'].filter((name) =>
        inputs.some((path) => path.includes(`@aws-sdk/${name}/`)),
      );
    };
    expect(await clients('lambdas/commands/send.ts')).toEqual([]);
    expect(await clients('lambdas/commands/signin.ts')).toEqual(['client-secrets-manager']);
    expect(await clients('lambdas/commands/signout.ts')).toEqual(['client-sqs']);
  });

  it('a command handler does have them (the check above can fail)', async () => {
    const inputs = await bundledPackages('lambdas/commands/send.ts');
    expect(inputs.some((path) => path.includes('@aws-sdk/client-dynamodb/'))).toBe(true);
  });
});
