#!/usr/bin/env node
/** The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs this file with tsx). */
import { App } from 'aws-cdk-lib';
import { CipherlineStack } from './cdk/stack';

const app = new App();
new CipherlineStack(app, 'Cipherline', {
  description: 'Cipherline: end-to-end encrypted messenger (WebSocket API, Lambdas, DynamoDB, S3)',
});
app.synth();
