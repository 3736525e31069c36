/**
 * The PWA on AWS: a private bucket read only by CloudFront (origin access control), served over
 * HTTPS only with HTTP/2 and HTTP/3 and compression, with the security headers and
 * Content-Security-Policy of infra/web-policy.ts on every response. Edge caching follows each
 * object's own Cache-Control, which the deployment sets per file class: hashed assets for a year,
 * index.html, the service worker, the manifest and config.json revalidated on every load.
 */
import { Aws, Duration, Names, RemovalPolicy, Stack } from 'aws-cdk-lib';
import {
  AllowedMethods,
  CacheCookieBehavior,
  CacheHeaderBehavior,
  CachePolicy,
  CacheQueryStringBehavior,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  ResponseHeadersPolicy,
  S3OriginAccessControl,
  ViewerProtocolPolicy,
  type ResponseHeadersPolicyProps,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { SECURITY_HEADERS, contentSecurityPolicy, type WebPolicyOrigins } from '../web-policy';
import { WebDeployment } from './web-deployment';

/** The origin of a WebSocket API's endpoint (its stage URL without the stage path). */
export const webSocketApiOrigin = (apiId: string, region: string, urlSuffix: string) =>
  `wss://${apiId}.execute-api.${region}.${urlSuffix}`;

/** The origin the S3 client names in presigned URLs of a bucket: virtual-hosted, regional. */
export const blobBucketOrigin = (bucketName: string, region: string, urlSuffix: string) =>
  `https://${bucketName}.s3.${region}.${urlSuffix}`;

/**
 * A name unique in the account: CloudFront policies and origin access controls are global, so a
 * stack of the same name in another region needs another name (CDK's cache policies do the same).
 */
const regionalName = (scope: Construct, what: string) =>
  `${Names.uniqueResourceName(scope, { maxLength: 32 })}-${what}-${Aws.REGION}`;

const enumValue = <E extends Record<string, string>>(values: E, value: string): E[keyof E] => {
  const found = Object.values(values).find((v) => v === value);
  if (found === undefined) throw new Error(`No CloudFront setting for "${value}".`);
  return found as E[keyof E];
};

/** infra/web-policy.ts's headers as a CloudFront response headers policy, each overriding the origin's. */
export function responseHeadersPolicyProps(
  origins: WebPolicyOrigins,
): Omit<ResponseHeadersPolicyProps, 'responseHeadersPolicyName'> {
  const { strictTransportSecurity, frameOptions, referrerPolicy, custom } = SECURITY_HEADERS;
  return {
    comment: 'Cipherline PWA: security headers and Content-Security-Policy (infra/web-policy.ts)',
    securityHeadersBehavior: {
      contentSecurityPolicy: {
        contentSecurityPolicy: contentSecurityPolicy(origins),
        override: true,
      },
      strictTransportSecurity: {
        accessControlMaxAge: Duration.seconds(strictTransportSecurity.maxAgeSeconds),
        includeSubdomains: strictTransportSecurity.includeSubdomains,
        preload: false,
        override: true,
      },
      contentTypeOptions: { override: true },
      frameOptions: { frameOption: enumValue(HeadersFrameOption, frameOptions), override: true },
      referrerPolicy: {
        referrerPolicy: enumValue(HeadersReferrerPolicy, referrerPolicy),
        override: true,
      },
    },
    customHeadersBehavior: {
      customHeaders: Object.entries(custom).map(([header, value]) => ({
        header,
        value,
        override: true,
      })),
    },
  };
}

export interface WebHostingProps {
  /** The WebSocket API's URL, written into config.json at deploy time. */
  readonly websocketUrl: string;
  /** What the Content-Security-Policy lets the page connect to. */
  readonly origins: WebPolicyOrigins;
  readonly logRetention: RetentionDays;
}

export class WebHosting extends Construct {
  readonly bucket: Bucket;
  readonly distribution: Distribution;
  readonly responseHeaders: ResponseHeadersPolicy;
  readonly cachePolicy: CachePolicy;
  readonly deployment: WebDeployment;
  /** `https://<distribution>.cloudfront.net`, the page's origin. */
  readonly webOrigin: string;

  constructor(scope: Construct, id: string, props: WebHostingProps) {
    super(scope, id);
    // Only the build: rebuilt on every deploy, so it goes with the stack.
    this.bucket = new Bucket(this, 'Bucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });
    this.responseHeaders = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      ...responseHeadersPolicyProps(props.origins),
      responseHeadersPolicyName: regionalName(this, 'headers'),
    });
    // The objects' own Cache-Control decides (a minimum of 0 lets `no-cache` mean revalidate);
    // the cache key is the path and the accepted compression, nothing from the viewer.
    this.cachePolicy = new CachePolicy(this, 'CachePolicy', {
      comment: 'Cipherline PWA: as the object says, compressed copies cached apart',
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.seconds(0),
      maxTtl: Duration.days(365),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
      headerBehavior: CacheHeaderBehavior.none(),
      cookieBehavior: CacheCookieBehavior.none(),
      queryStringBehavior: CacheQueryStringBehavior.none(),
    });
    this.distribution = new Distribution(this, 'Distribution', {
      comment: `Cipherline PWA (${Stack.of(this).stackName})`,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket, {
          originAccessControl: new S3OriginAccessControl(this, 'OriginAccess', {
            originAccessControlName: regionalName(this, 'origin'),
          }),
        }),
        viewerProtocolPolicy: ViewerProtocolPolicy.HTTPS_ONLY,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        compress: true,
        cachePolicy: this.cachePolicy,
        responseHeadersPolicy: this.responseHeaders,
      },
    });
    this.webOrigin = `https://${this.distribution.distributionDomainName}`;
    this.deployment = new WebDeployment(this, 'Deployment', {
      bucket: this.bucket,
      websocketUrl: props.websocketUrl,
      logRetention: props.logRetention,
    });
  }
}
