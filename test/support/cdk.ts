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
