/**
 * The handler bundles of a synthesized cloud assembly (`cdk synth` output): which function each
 * asset folder belongs to and how big its code is. Used by the bundle test and by
 * `npm run bench:lambda`, so both look at exactly what `cdk deploy` uploads.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Largest index.mjs a handler may ship. A command handler measured 0.99 MB (the DynamoDB, S3 and
 * @connections clients and zod, minified); a new dependency of a fifth of that crosses it. */
export const HANDLER_BUNDLE_BUDGET_BYTES = 1_200_000;

export interface HandlerBundle {
  /** Route key or background function name (from the function's description). */
  readonly name: string;
  readonly logicalId: string;
  /** The asset folder SAM and `cdk deploy` use (the template's `aws:asset:path`). */
  readonly assetPath: string;
  /** The bundle itself, absolute. */
  readonly file: string;
  readonly bytes: number;
}

interface TemplateResource {
  Type: string;
  Metadata?: Record<string, unknown>;
  /** A CloudFormation value: CDK's bucket emptier describes itself with an Fn::Join. */
  Properties: { Description?: unknown };
}

export const DESCRIPTION_PREFIX = 'Cipherline ';

export function handlerBundles(assemblyDir: string, stackName = 'Cipherline'): HandlerBundle[] {
  const template = JSON.parse(
    readFileSync(join(assemblyDir, `${stackName}.template.json`), 'utf8'),
  ) as { Resources: Record<string, TemplateResource> };
  const bundles: HandlerBundle[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const description = resource.Properties.Description;
    // CDK's own functions (the web deployment, the bucket emptier) are not ours.
    if (
      resource.Type !== 'AWS::Lambda::Function' ||
      typeof description !== 'string' ||
      !description.startsWith(DESCRIPTION_PREFIX)
    )
      continue;
    const assetPath = resource.Metadata?.['aws:asset:path'];
    if (typeof assetPath !== 'string')
      throw new Error(`${logicalId} has no aws:asset:path metadata: synthesize with the CDK CLI.`);
    const file = join(assemblyDir, assetPath, 'index.mjs');
    if (!existsSync(file)) throw new Error(`${logicalId}: ${file} is missing.`);
    bundles.push({
      name: description.slice(DESCRIPTION_PREFIX.length),
      logicalId,
      assetPath,
      file,
      bytes: statSync(file).size,
    });
  }
  return bundles;
}
