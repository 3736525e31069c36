/**
 * The PWA in the stack: a private bucket read by CloudFront alone, HTTPS only with HTTP/2 and 3
 * and compression, exactly the headers of infra/web-policy.ts (the CSP naming this stack's
 * WebSocket API and blob bucket as the handlers' S3 client signs it), each file of a real build
 * deployed with its class's Cache-Control, config.json carrying the stack's WebSocket URL, and
 * the blob bucket's CORS naming the CloudFront origin and localhost only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { App } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blobBucketOrigin } from '../../infra/cdk/web-hosting';
import {
  CACHE_CONTROL,
  DEVELOPMENT_ORIGINS,
  RUNTIME_CONFIG_FILE,
  WEB_FILE_CLASSES,
  cspDirectives,
  matchesFilter,
  securityHeaders,
  webFileClass,
} from '../../infra/web-policy';
import { makeS3Client } from '../../lambdas/runtime/aws';
import { RENDER_AT, rendered, resourcesOf, synthesizeStack, type Resource } from '../support/cdk';
import { tempDataDir } from '../../tools/local-stack';
import { buildPwa } from '../../tools/web-build';

let template: Template;
let app: App;
const build = tempDataDir();
let builtFiles: string[];

beforeAll(async () => {
  const synthesized = synthesizeStack();
  template = synthesized.template;
  app = synthesized.stack.node.root as App;
  await buildPwa(build.dir, 'hosting-test');
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : [join(dir, entry.name)],
    );
  builtFiles = walk(build.dir)
    .map((file) => relative(build.dir, file))
    .filter((path) => !path.startsWith('.vite/')); // removed from the deployed build (buildWeb)
}, 120_000);
afterAll(() => build.remove());

const only = (type: string): [string, Resource] => {
  const found = resourcesOf(template, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};
const props = (type: string) => only(type)[1].Properties;
const output = (name: string) =>
  rendered((template.toJSON().Outputs as Record<string, { Value: unknown }>)[name]!.Value);

/** The origins the stack's page may connect to, as a deployment renders them. */
function deployedOrigins() {
  const [, blobBucket] = resourcesOf(template, 'AWS::S3::Bucket').find(([id]) =>
    id.startsWith('DataBlobBucket'),
  )!;
  const bucketName = rendered(blobBucket.Properties.BucketName);
  return {
    // The stage URL without its path (a rendered reference is not a valid host for `new URL`).
    websocket: /^wss:\/\/[^/]+/.exec(output('WebSocketUrl'))![0],
    blobs: blobBucketOrigin(bucketName, RENDER_AT['AWS::Region'], RENDER_AT['AWS::URLSuffix']),
    bucketName,
  };
}

type DistributionConfig = {
  DefaultCacheBehavior: Record<string, unknown>;
  CacheBehaviors?: unknown[];
  Origins: { DomainName: unknown; OriginAccessControlId?: unknown; S3OriginConfig: object }[];
  [key: string]: unknown;
};
const distribution = () =>
  props('AWS::CloudFront::Distribution').DistributionConfig as DistributionConfig;

describe('the web bucket and CloudFront', () => {
  it('keep the build in a private, encrypted, TLS-only bucket that only this distribution may read', () => {
    const [bucketId, bucket] = resourcesOf(template, 'AWS::S3::Bucket').find(([id]) =>
      id.startsWith('WebBucket'),
    )!;
    expect(bucket.Properties).toMatchObject({
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      BucketEncryption: { ServerSideEncryptionConfiguration: [expect.anything()] },
    });
    const [policy] = resourcesOf(template, 'AWS::S3::BucketPolicy')
      .map(([, p]) => p.Properties)
      .filter((p) => JSON.stringify(p.Bucket) === JSON.stringify({ Ref: bucketId }));
    const statements = (policy!.PolicyDocument as { Statement: Record<string, unknown>[] })
      .Statement;
    expect(statements).toContainEqual(
      expect.objectContaining({
        Effect: 'Deny',
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }),
    );
    const reads = statements.filter((s) => JSON.stringify(s.Action).includes('s3:GetObject'));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({
      Effect: 'Allow',
      Action: 's3:GetObject',
      Principal: { Service: 'cloudfront.amazonaws.com' },
    });
    const [distributionId] = only('AWS::CloudFront::Distribution');
    expect(
      rendered(
        (reads[0]!.Condition as { StringEquals: Record<string, unknown> }).StringEquals[
          'AWS:SourceArn'
        ],
      ),
    ).toBe(`arn:aws:cloudfront::123456789012:distribution/<${distributionId}>`);

    // Origin access control signs every request; no legacy origin access identity.
    const [origin] = distribution().Origins;
    const [oacId, oac] = only('AWS::CloudFront::OriginAccessControl');
    expect(origin!.OriginAccessControlId).toEqual({ 'Fn::GetAtt': [oacId, 'Id'] });
    expect(origin!.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
    expect(rendered(origin!.DomainName)).toBe(`<${bucketId}.RegionalDomainName>`);
    expect(oac.Properties.OriginAccessControlConfig).toMatchObject({
      OriginAccessControlOriginType: 's3',
      SigningBehavior: 'always',
      SigningProtocol: 'sigv4',
    });
    // It holds only the build: deleted with the stack, emptied first.
    expect(bucket.DeletionPolicy).toBe('Delete');
  });

  it('serve HTTPS only, over HTTP/2 and HTTP/3, compressed, GET and HEAD, / as index.html', () => {
    const config = distribution();
    expect(config).toMatchObject({
      HttpVersion: 'http2and3',
      DefaultRootObject: 'index.html',
      IPV6Enabled: true,
      DefaultCacheBehavior: {
        ViewerProtocolPolicy: 'https-only',
        Compress: true,
        AllowedMethods: ['GET', 'HEAD'],
      },
    });
    expect(config.CacheBehaviors).toBeUndefined(); // one behaviour: the objects say how long
    expect(props('AWS::CloudFront::CachePolicy').CachePolicyConfig).toMatchObject({
      MinTTL: 0,
      DefaultTTL: 0,
      MaxTTL: 365 * 24 * 3600,
      ParametersInCacheKeyAndForwardedToOrigin: {
        EnableAcceptEncodingGzip: true,
        EnableAcceptEncodingBrotli: true,
        CookiesConfig: { CookieBehavior: 'none' },
        HeadersConfig: { HeaderBehavior: 'none' },
        QueryStringsConfig: { QueryStringBehavior: 'none' },
      },
    });
  });

  it('answer with exactly the headers of infra/web-policy.ts', () => {
    const config = props('AWS::CloudFront::ResponseHeadersPolicy').ResponseHeadersPolicyConfig as {
      SecurityHeadersConfig: Record<string, Record<string, unknown>>;
      CustomHeadersConfig: { Items: { Header: string; Value: string; Override: boolean }[] };
      CorsConfig?: unknown;
      RemoveHeadersConfig?: unknown;
    };
    const security = config.SecurityHeadersConfig;
    for (const header of Object.values(security)) expect(header.Override).toBe(true);
    for (const header of config.CustomHeadersConfig.Items) expect(header.Override).toBe(true);
    // CloudFront's settings rendered as the header lines it sends.
    const hsts = security.StrictTransportSecurity!;
    const served: Record<string, string> = {
      'content-security-policy': rendered(security.ContentSecurityPolicy!.ContentSecurityPolicy),
      'strict-transport-security': `max-age=${String(hsts.AccessControlMaxAgeSec)}${hsts.IncludeSubdomains ? '; includeSubDomains' : ''}${hsts.Preload ? '; preload' : ''}`,
      'x-content-type-options': 'nosniff',
      'x-frame-options': String(security.FrameOptions!.FrameOption),
      'referrer-policy': String(security.ReferrerPolicy!.ReferrerPolicy),
      ...Object.fromEntries(config.CustomHeadersConfig.Items.map((h) => [h.Header, h.Value])),
    };
    expect(Object.keys(security).sort()).toEqual([
      'ContentSecurityPolicy',
      'ContentTypeOptions',
      'FrameOptions',
      'ReferrerPolicy',
      'StrictTransportSecurity',
    ]);
    expect(served).toEqual(securityHeaders(deployedOrigins()));
    expect(config.CorsConfig).toBeUndefined();
    expect(config.RemoveHeadersConfig).toBeUndefined();
  });

  it("let the page connect only to its own origin, this stack's WebSocket API and its blob bucket", () => {
    const { websocket, blobs, bucketName } = deployedOrigins();
    const csp = rendered(
      (
        props('AWS::CloudFront::ResponseHeadersPolicy').ResponseHeadersPolicyConfig as {
          SecurityHeadersConfig: { ContentSecurityPolicy: { ContentSecurityPolicy: unknown } };
        }
      ).SecurityHeadersConfig.ContentSecurityPolicy.ContentSecurityPolicy,
    );
    const connectSrc = csp.split('; ').find((d) => d.startsWith('connect-src '))!;
    expect(connectSrc.split(' ').slice(1)).toEqual(["'self'", websocket, blobs]);
    const [, apiId] = /^wss:\/\/<(\w+)>\.execute-api\.eu-west-1\.amazonaws\.com$/.exec(websocket)!;
    expect(only('AWS::ApiGatewayV2::Api')[0]).toBe(apiId);
    expect(bucketName).toBe('cipherline-blobs-5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d');
    expect(csp).toBe(
      Object.entries(cspDirectives({ websocket, blobs }))
        .map(([name, sources]) => `${name} ${sources.join(' ')}`)
        .join('; '),
    );
  });

  it('name the blob origin exactly as the handlers’ S3 client signs URLs for it, in every partition', async () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, {
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'secret',
      });
      delete process.env.S3_ENDPOINT;
      for (const [region, suffix] of [
        ['us-east-1', 'amazonaws.com'],
        ['eu-west-1', 'amazonaws.com'],
        ['cn-north-1', 'amazonaws.com.cn'],
      ] as const) {
        process.env.AWS_REGION = region;
        const bucket = 'cipherline-blobs-5a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
        const url = await getSignedUrl(
          makeS3Client(),
          new PutObjectCommand({ Bucket: bucket, Key: 'blobs/x' }),
        );
        expect(new URL(url).origin, region).toBe(blobBucketOrigin(bucket, region, suffix));
      }
    } finally {
      process.env = saved;
    }
  });

  it('have names unique per region (CloudFront policies and origin access controls are global)', () => {
    for (const [type, config, field] of [
      ['AWS::CloudFront::ResponseHeadersPolicy', 'ResponseHeadersPolicyConfig', 'Name'],
      ['AWS::CloudFront::OriginAccessControl', 'OriginAccessControlConfig', 'Name'],
      ['AWS::CloudFront::CachePolicy', 'CachePolicyConfig', 'Name'],
    ] as const) {
      const name = rendered((props(type)[config] as Record<string, unknown>)[field]);
      expect(name, type).toMatch(/-eu-west-1$/);
      expect(name.length, type).toBeLessThanOrEqual(64);
    }
  });
});

describe('the blob bucket', () => {
  it("lets exactly the CloudFront origin and this machine's pages PUT and GET through CORS", () => {
    const [, blobBucket] = resourcesOf(template, 'AWS::S3::Bucket').find(([id]) =>
      id.startsWith('DataBlobBucket'),
    )!;
    const rules = (
      blobBucket.Properties.CorsConfiguration as { CorsRules: Record<string, unknown>[] }
    ).CorsRules;
    expect(rules).toHaveLength(1);
    const [distributionId] = only('AWS::CloudFront::Distribution');
    expect((rules[0]!.AllowedOrigins as unknown[]).map(rendered)).toEqual([
      `https://<${distributionId}.DomainName>`,
      ...DEVELOPMENT_ORIGINS,
    ]);
    expect(rules[0]!.AllowedMethods).toEqual(['GET', 'PUT', 'HEAD']);
    expect(output('WebUrl')).toBe(`https://<${distributionId}.DomainName>/`);
  });
});

type Deployment = {
  SourceBucketNames: unknown[];
  SourceObjectKeys: string[];
  SourceMarkers?: Record<string, unknown>[];
  Exclude?: string[];
  Include?: string[];
  Prune: boolean;
  SystemMetadata: Record<string, string>;
};
const deployments = () =>
  resourcesOf(template, 'Custom::CDKBucketDeployment').map(
    ([id, r]) =>
      [
        id,
        r.Properties as unknown as Deployment,
        r as Resource & { DependsOn?: string[] },
      ] as const,
  );

/** Whether `aws s3 sync` uploads a file: every --exclude first, then every --include, the last match deciding. */
function synced(path: string, deployment: Deployment): boolean {
  let included = true;
  for (const pattern of deployment.Exclude ?? [])
    if (matchesFilter(path, pattern)) included = false;
  for (const pattern of deployment.Include ?? []) if (matchesFilter(path, pattern)) included = true;
  return included;
}

describe('the web deployment', () => {
  it("uploads each file of a real build exactly once, with its class's Cache-Control", () => {
    expect(builtFiles).toEqual(
      expect.arrayContaining(['index.html', 'sw.js', 'manifest.webmanifest', 'icons/icon-192.png']),
    );
    expect(builtFiles.some((path) => path.startsWith('assets/'))).toBe(true);
    for (const path of [...builtFiles, RUNTIME_CONFIG_FILE]) {
      const uploads = deployments().filter(([, d]) => synced(path, d));
      expect(uploads.length, path).toBe(1);
      const [, deployment] = uploads[0]!;
      expect(deployment.SystemMetadata['cache-control'], path).toBe(
        webFileClass(path).cacheControl,
      );
    }
    // Long caching only where a changed file gets a new name.
    for (const path of builtFiles.filter(
      (p) => webFileClass(p).cacheControl === CACHE_CONTROL.immutable,
    ))
      expect(path).toMatch(/^assets\/.+-[A-Za-z0-9_-]{8}\.(js|css)$/);
    for (const path of ['index.html', 'sw.js', 'manifest.webmanifest', RUNTIME_CONFIG_FILE])
      expect(webFileClass(path).cacheControl, path).toBe('no-cache');
  });

  it('keeps old hashed assets for tabs of the previous version, prunes the rest, and writes the assets first', () => {
    const byClass = new Map(
      WEB_FILE_CLASSES.map((fileClass) => [
        fileClass.name,
        deployments().find(
          ([, d]) => d.SystemMetadata['cache-control'] === fileClass.cacheControl,
        )!,
      ]),
    );
    const [assetsId, assets] = byClass.get('hashed-assets')!;
    const [, entryPoints, entryPointsResource] = byClass.get('entry-points')!;
    expect(assets.Prune).toBe(false);
    expect(entryPoints.Prune).toBe(true);
    expect(entryPointsResource.DependsOn).toContain(assetsId);
  });

  it("writes config.json with this stack's WebSocket URL, filled in at deploy time", () => {
    const [, entryPoints] = deployments().find(([, d]) => d.SourceObjectKeys.length === 2)!;
    const configKey = entryPoints.SourceObjectKeys[1]!;
    const staged = join(
      app.outdir,
      `asset.${configKey.replace(/\.zip$/, '')}`,
      RUNTIME_CONFIG_FILE,
    );
    let text = readFileSync(staged, 'utf8');
    for (const [marker, value] of Object.entries(entryPoints.SourceMarkers![1]!))
      text = text.replaceAll(marker, rendered(value));
    expect(JSON.parse(text)).toEqual({ websocketUrl: output('WebSocketUrl') });
    expect(output('WebSocketUrl')).toMatch(
      /^wss:\/\/<\w+>\.execute-api\.eu-west-1\.amazonaws\.com\/prod$/,
    );
  });

  it('reads the build made at synthesis: one asset for all classes', () => {
    const keys = new Set(deployments().map(([, d]) => d.SourceObjectKeys[0]));
    expect(keys.size).toBe(1);
  });
});
