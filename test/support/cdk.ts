/** The stack synthesized in-process for assertion tests: no bundling (see DESIGN.md section 8). */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { DESCRIPTION_PREFIX } from '../../infra/cdk/handler-bundles';
import { CipherlineStack, type CipherlineStackProps } from '../../infra/cdk/stack';

export function synthesizeStack(
  context: Record<string, unknown> = {},
  props: CipherlineStackProps = {},
): { stack: CipherlineStack; template: Template } {
  // CDK's built-in CloudFormation validation (WASM, about 30 s here) runs in the real synthesis test.
  const app = new App({
    builtinCloudFormationValidation: false,
    context: { 'aws:cdk:bundling-stacks': [], ...context },
  });
  const stack = new CipherlineStack(app, 'Test', props);
  return { stack, template: Template.fromStack(stack, { skipCyclicalDependenciesCheck: true }) };
}

export type Resource = { Properties: Record<string, unknown>; DeletionPolicy?: string };

export const resourcesOf = (template: Template, type: string) =>
  Object.entries(template.findResources(type)) as [string, Resource][];

/** Cipherline's own handlers, without CDK's (the web deployment, the bucket emptier). */
export const handlerFunctionsOf = (template: Template) =>
  resourcesOf(template, 'AWS::Lambda::Function').filter(([, fn]) =>
    String(fn.Properties.Description).startsWith(DESCRIPTION_PREFIX),
  );

/** The values a deployment would give CloudFormation's pseudo parameters, for rendering templates. */
export const RENDER_AT = {
  'AWS::Region': 'eu-west-1',
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::Partition': 'aws',
  'AWS::AccountId': '123456789012',
  'AWS::StackId':
    'arn:aws:cloudformation:eu-west-1:123456789012:stack/Test/5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
} as const;

/**
 * Evaluates the intrinsic functions of a template value as CloudFormation would, with pseudo
 * parameters from RENDER_AT; a resource reference renders as `<LogicalId>` and an attribute as
 * `<LogicalId.Attribute>`.
 */
export function renderIntrinsics(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(renderIntrinsics);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const [key, argument] = entries[0] ?? [];
  if (entries.length !== 1 || (!key?.startsWith('Fn::') && key !== 'Ref'))
    return Object.fromEntries(entries.map(([k, v]) => [k, renderIntrinsics(v)]));
  const text = (v: unknown) => String(renderIntrinsics(v));
  switch (key) {
    case 'Ref':
      return RENDER_AT[argument as keyof typeof RENDER_AT] ?? `<${String(argument)}>`;
    case 'Fn::GetAtt': {
      const [id, attribute] = argument as [string, string];
      return `<${id}.${attribute}>`;
    }
    case 'Fn::Join': {
      const [separator, parts] = argument as [string, unknown[]];
      return parts.map(text).join(separator);
    }
    case 'Fn::Split': {
      const [separator, source] = argument as [string, unknown];
      return text(source).split(separator);
    }
    case 'Fn::Select': {
      const [index, list] = argument as [number, unknown];
      return (renderIntrinsics(list) as unknown[])[index];
    }
    case 'Fn::Sub':
      return (argument as string).replace(/\$\{([^}]+)\}/g, (_m, name: string) =>
        text({ Ref: name }),
      );
    default:
      throw new Error(`renderIntrinsics: ${key} is not supported`);
  }
}

export const rendered = (value: unknown): string => {
  const result = renderIntrinsics(value);
  if (typeof result !== 'string') throw new Error(`not a string: ${JSON.stringify(result)}`);
  return result;
};
