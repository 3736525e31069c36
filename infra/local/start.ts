/**
 * `npm start`: the whole local cloud in one process. Flags choose ports and the data folder so
 * tests and scripts can run their own stack; Ctrl-C stops everything and keeps the data.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { COMMAND_ROUTES } from '../../protocol/routes';
import { LOCAL_BUCKET_NAME } from './names';
import { DataFolderInUseError } from './data-lock';
import { parseLimitOverrides } from './limit-overrides';
import { DEFAULT_PORTS, REPO_ROOT, startLocalStack } from './stack';

const USAGE = `Usage: npm start -- [options]
  --data <folder>        data folder, kept across restarts (default .local)
  --host <address>       address to listen on (default 127.0.0.1)
  --gateway-port <n>     WebSocket API and @connections (default ${DEFAULT_PORTS.gateway}; 0 = any free port)
  --dynamo-port <n>      DynamoDB API (default ${DEFAULT_PORTS.dynamo})
  --s3-port <n>          S3 API (default ${DEFAULT_PORTS.s3})
  --web-port <n>         PWA dev server (default ${DEFAULT_PORTS.web})
  --no-web               headless: no PWA dev server
  --https                serve the PWA over HTTPS (self-signed certificate), with the WebSocket
                         and S3 proxied through it: for a phone on the same network
  --public-host <name>   how other devices reach this machine (default: its LAN address
                         when --host is 0.0.0.0, else the --host address)
  --built-web            serve the production build in web/dist (npm run build:web) instead of
                         the dev server: the installable PWA with its service worker
  --quiet                no line per routed frame
  --limits <json>        server limits other than production's, e.g. '{"signupsPerAddressPerHour":1000}'`;

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: '.local' },
    host: { type: 'string', default: '127.0.0.1' },
    'gateway-port': { type: 'string' },
    'dynamo-port': { type: 'string' },
    's3-port': { type: 'string' },
    'web-port': { type: 'string' },
    'no-web': { type: 'boolean', default: false },
    https: { type: 'boolean', default: false },
    'public-host': { type: 'string' },
    'built-web': { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    limits: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

function port(
  flag: 'gateway-port' | 'dynamo-port' | 's3-port' | 'web-port',
  fallback: number,
): number {
  const text = args[flag];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535)
    fail(`--${flag} must be a port number (0-65535), got "${text}".`);
  return value;
}

function fail(message: string): never {
  console.error(`Cannot start: ${message}`);
  process.exit(1);
}

const ports = {
  'gateway-port': port('gateway-port', DEFAULT_PORTS.gateway),
  'dynamo-port': port('dynamo-port', DEFAULT_PORTS.dynamo),
  's3-port': port('s3-port', DEFAULT_PORTS.s3),
  'web-port': port('web-port', DEFAULT_PORTS.web),
};
const dataDir = resolve(args.data);
const builtWebDir = resolve(REPO_ROOT, 'web/dist');
if (args['built-web'] && !existsSync(join(builtWebDir, 'index.html')))
  fail('--built-web serves web/dist, which has no build yet: run `npm run build:web` first.');
let serverLimits;
try {
  serverLimits = args.limits === undefined ? undefined : parseLimitOverrides(args.limits);
} catch (error) {
  fail((error as Error).message);
}

try {
  const stack = await startLocalStack({
    dataDir,
    host: args.host,
    gatewayPort: ports['gateway-port'],
    dynamoPort: ports['dynamo-port'],
    s3Port: ports['s3-port'],
    webPort: ports['web-port'],
    web: !args['no-web'],
    https: args.https,
    ...(args['public-host'] && { publicHost: args['public-host'] }),
    ...(args['built-web'] && { webBuiltDir: builtWebDir }),
    serverLimits,
    onLog: args.quiet ? undefined : (line) => console.log(`  frame ${line}`),
  });
  const { endpoints } = stack;
  const nearby = relative(process.cwd(), dataDir) || '.';
  const shown = nearby.startsWith('..') ? dataDir : nearby;
  console.log(`Cipherline local cloud
  data folder   ${shown}${stack.createdTables.length ? ` (created ${stack.createdTables.length} tables)` : ' (existing data kept)'}
  DynamoDB API  ${endpoints.dynamodb}  (dynalite)
  S3 API        ${endpoints.s3}  (s3rver, bucket ${LOCAL_BUCKET_NAME})
  WebSocket     ${endpoints.websocket}  (local API Gateway, ${COMMAND_ROUTES.length} command routes)
  @connections  ${endpoints.managementApi}/@connections/{id}
  PWA           ${endpoints.web ?? 'off (--no-web)'}${args['built-web'] ? '  (production build)' : ''}`);
  if (endpoints.web && args.https)
    console.log(`  over HTTPS    a self-signed certificate: accept the browser's warning once; the
                WebSocket and S3 are proxied at ${endpoints.web}ws and ${endpoints.web}s3/`);
  if (serverLimits)
    console.log(`  limits        ${JSON.stringify(serverLimits)} (production values otherwise)`);
  console.log(
    `Ready: ${endpoints.websocket}${endpoints.web ? ` and ${endpoints.web}` : ''} (Ctrl-C stops)`,
  );

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) process.exit(1); // a second Ctrl-C: stop waiting
    stopping = true;
    console.log(`\n${signal}: stopping...`);
    await stack.stop();
    console.log(`Stopped. Data kept in ${shown}.`);
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
} catch (error) {
  if (error instanceof DataFolderInUseError) fail(error.message);
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    const busy = (error as { port?: number }).port;
    const flag = Object.entries(ports).find(([, value]) => value === busy)?.[0];
    fail(`port ${busy} is in use${flag ? `; choose another with --${flag}` : ''}.`);
  }
  fail(error instanceof Error ? error.message : String(error));
}
