#!/usr/bin/env node
/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this file with tsx). The cdk-nag
 * AwsSolutions checks run on every synthesis: a finding that infra/cdk/acknowledgements.ts does
 * not acknowledge stops it, before anything reaches AWS.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CipherlineStack } from './cdk/stack';

const app = new App();
new CipherlineStack(app, 'Cipherline', {
  description:
    'Cipherline: end-to-end encrypted messenger (PWA on CloudFront, WebSocket API, Lambdas, DynamoDB, S3)',
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
