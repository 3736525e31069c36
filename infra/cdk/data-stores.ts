/**
 * The tables and the blob bucket, built from the shared definitions in lambdas/tables.ts. They
 * hold every account and undelivered message, so they outlive the stack unless `retainData` is
 * false (a development stack): `cdk destroy` then deletes them, emptying the bucket first.
 */
import { Aws, Duration, Fn, RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, TableV2, type Attribute } from 'aws-cdk-lib/aws-dynamodb';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  HttpMethods,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BLOB_BUCKET, TABLES, TABLE_NAMES, type TableName } from '../../lambdas/tables';
import type { KeyAttribute } from '../../lambdas/stores/table-definition';

const attribute = (key: KeyAttribute): Attribute => ({
  name: key.name,
  type:
    key.type === 'S'
      ? AttributeType.STRING
      : key.type === 'N'
        ? AttributeType.NUMBER
        : AttributeType.BINARY,
});

export interface DataStoresProps {
  readonly retainData: boolean;
}

export class DataStores extends Construct {
  readonly tables = {} as Record<TableName, TableV2>;
  readonly blobBucket: Bucket;
  /**
   * The blob bucket's name: "cipherline-blobs-" and the stack's own UUID (the last part of its
   * stack id), unique per stack and known without referring to the bucket. The PWA's
   * Content-Security-Policy names the bucket's origin while the bucket's CORS names the
   * CloudFront origin; with a name CloudFormation generates, that would be a dependency cycle.
   */
  readonly blobBucketName = `cipherline-blobs-${Fn.select(2, Fn.split('/', Aws.STACK_ID))}`;

  constructor(scope: Construct, id: string, props: DataStoresProps) {
    super(scope, id);
    const removalPolicy = props.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    for (const name of TABLE_NAMES) {
      const def = TABLES[name];
      this.tables[name] = new TableV2(this, `${name[0]!.toUpperCase()}${name.slice(1)}Table`, {
        partitionKey: attribute(def.partitionKey),
        ...('sortKey' in def && { sortKey: attribute(def.sortKey) }),
        ...('ttlAttribute' in def && { timeToLiveAttribute: def.ttlAttribute }),
        ...('globalIndexes' in def && {
          globalSecondaryIndexes: def.globalIndexes.map((index) => ({
            indexName: index.indexName,
            partitionKey: attribute(index.partitionKey),
            ...('sortKey' in index && { sortKey: attribute(index.sortKey) }),
          })),
        }),
        billing: Billing.onDemand(),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy,
      });
    }

    this.blobBucket = new Bucket(this, 'BlobBucket', {
      bucketName: this.blobBucketName,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        // Only blobs/ expires: kept key backups (backups/) live until a newer backup replaces them.
        {
          id: 'expire-blobs',
          prefix: BLOB_BUCKET.expiringPrefix,
          expiration: Duration.days(BLOB_BUCKET.expireAfterDays),
        },
        {
          id: 'abort-stale-uploads',
          abortIncompleteMultipartUploadAfter: Duration.days(
            BLOB_BUCKET.abortIncompleteMultipartAfterDays,
          ),
        },
      ],
      removalPolicy,
      // A bucket with objects cannot be deleted: a custom resource empties it first.
      autoDeleteObjects: !props.retainData,
    });
  }

  /** Lets pages of these origins PUT and GET blobs with presigned URLs (the bucket's only CORS rule). */
  allowBrowserOrigins(origins: readonly string[]): void {
    this.blobBucket.addCorsRule({
      allowedOrigins: [...origins],
      allowedMethods: BLOB_BUCKET.cors.allowedMethods.map((method) => HttpMethods[method]),
      allowedHeaders: [...BLOB_BUCKET.cors.allowedHeaders],
      exposedHeaders: [...BLOB_BUCKET.cors.exposedHeaders],
      maxAge: BLOB_BUCKET.cors.maxAgeSeconds,
    });
  }
}
