/**
 * The PWA's files in its bucket. The production build is made by Vite while CDK synthesizes (an
 * asset, built locally like the handler bundles), and config.json is written at deploy time with
 * the WebSocket URL. There is one BucketDeployment per file class of infra/web-policy.ts, each
 * setting its class's Cache-Control; hashed assets go first, so a new index.html never names a
 * file that is not there yet.
 *
 * The deployments share one function (CDK's BucketDeployment handler, `aws s3 sync`). Its role
 * is ours, made immutable for the construct, whose own grants (read and write on whole buckets)
 * are dropped; it gets exactly what the sync does: read the two source zips, list the web
 * bucket, put and delete its objects, write its own log group.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { SingletonFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import {
  BucketDeployment,
  CacheControl,
  Source,
  type DeploymentSourceContext,
  type ISource,
  type SourceConfig,
} from 'aws-cdk-lib/aws-s3-deployment';
import { Construct, type IConstruct } from 'constructs';
import { RUNTIME_CONFIG_FILE, WEB_FILE_CLASSES } from '../web-policy';

const REPO_ROOT = join(import.meta.dirname, '../..');
export const WEB_ROOT = join(REPO_ROOT, 'web');

/**
 * The build id Settings shows: `CIPHERLINE_BUILD_ID`, else the git commit (`-modified` with
 * uncommitted changes), else none (the Vite config then uses the build time). A fixed id keeps
 * the build byte-identical from one deploy of a commit to the next, so an unchanged app is not
 * redeployed and no phone is asked to reload for nothing.
 */
export function webBuildId(): string | undefined {
  if (process.env.CIPHERLINE_BUILD_ID) return process.env.CIPHERLINE_BUILD_ID;
  const git = (...args: string[]) =>
    spawnSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: 'pipe' });
  const head = git('rev-parse', '--short=12', 'HEAD');
  if (head.status !== 0) return undefined;
  const dirty = git('status', '--porcelain', '--untracked-files=no').stdout.trim() !== '';
  return `${head.stdout.trim()}${dirty ? '-modified' : ''}`;
}

/** `vite build` of web/ into `outputDir` (what `npm run build:web` makes), without Vite's own manifest. */
export function buildWeb(outputDir: string): void {
  const buildId = webBuildId();
  const vite = join(REPO_ROOT, 'node_modules/vite/bin/vite.js');
  const result = spawnSync(
    process.execPath,
    [vite, 'build', WEB_ROOT, '--outDir', outputDir, '--emptyOutDir', '--logLevel', 'warn'],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, ...(buildId && { CIPHERLINE_BUILD_ID: buildId }) },
    },
  );
  if (result.status !== 0)
    throw new Error(
      `Building the PWA (vite build web) failed; run "npm run build:web" to see why.\n${result.stderr || result.stdout}`,
    );
  // .vite/manifest.json maps sources to chunks for tools (bench:web); the app never loads it.
  rmSync(join(outputDir, '.vite'), { recursive: true, force: true });
}

/** A source that remembers which zip each deployment reads, so the role can name exactly it. */
class RecordedSource implements ISource {
  readonly bound: SourceConfig[] = [];
  constructor(private readonly inner: ISource) {}
  bind(scope: Construct, context?: DeploymentSourceContext): SourceConfig {
    const config = this.inner.bind(scope, context);
    this.bound.push(config);
    return config;
  }
}

export interface WebDeploymentProps {
  readonly bucket: IBucket;
  /** The WebSocket API's URL (a deploy-time value), written into config.json. */
  readonly websocketUrl: string;
  readonly logRetention: RetentionDays;
}

export class WebDeployment extends Construct {
  readonly build: Asset;
  readonly role: Role;
  readonly logGroup: LogGroup;
  /** By file class name, in deployment order. */
  readonly deployments = new Map<string, BucketDeployment>();

  constructor(scope: Construct, id: string, props: WebDeploymentProps) {
    super(scope, id);
    this.build = new Asset(this, 'Build', {
      path: WEB_ROOT,
      assetHashType: AssetHashType.OUTPUT,
      bundling: {
        // Never pulled: the local build always succeeds or throws.
        image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
        local: {
          tryBundle(outputDir) {
            buildWeb(outputDir);
            return true;
          },
        },
      },
    });
    const files = new RecordedSource(Source.bucket(this.build.bucket, this.build.s3ObjectKey));
    const config = new RecordedSource(
      Source.jsonData(RUNTIME_CONFIG_FILE, { websocketUrl: props.websocketUrl }),
    );

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Cipherline web deployment: copies the PWA build and config.json to its bucket',
    });
    const role = this.role.withoutPolicyUpdates();

    const claimed = WEB_FILE_CLASSES.flatMap((fileClass) => fileClass.patterns);
    const earlier: BucketDeployment[] = [];
    for (const fileClass of WEB_FILE_CLASSES) {
      const rest = fileClass.patterns.length === 0;
      const deployment = new BucketDeployment(this, pascalCase(fileClass.name), {
        destinationBucket: props.bucket,
        sources: rest ? [files, config] : [files],
        // `aws s3 sync` applies every --exclude, then every --include.
        ...(rest ? { exclude: claimed } : { exclude: ['*'], include: [...fileClass.patterns] }),
        prune: fileClass.prune,
        cacheControl: [CacheControl.fromString(fileClass.cacheControl)],
        role,
        logGroup: this.logGroup,
      });
      if (rest) for (const before of earlier) deployment.node.addDependency(before);
      earlier.push(deployment);
      this.deployments.set(fileClass.name, deployment);
    }

    const zips = [...files.bound, ...config.bound].map(({ bucket, zipObjectKey }) =>
      bucket.arnForObjects(zipObjectKey),
    );
    this.role.addToPolicy(
      new PolicyStatement({ actions: ['s3:GetObject'], resources: [...new Set(zips)] }),
    );
    this.role.addToPolicy(
      new PolicyStatement({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject', 's3:DeleteObject'],
        resources: [props.bucket.arnForObjects('*')],
      }),
    );
    this.logGroup.grantWrite(this.role);
  }

  /** The one function all the deployments run on (CDK keeps it at the stack's root). */
  get handler(): IConstruct {
    const [first] = this.deployments.values();
    const singleton = first!.node.findChild('CustomResourceHandler') as SingletonFunction;
    return Stack.of(this).node.findChild(singleton.constructName);
  }
}

const pascalCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());
