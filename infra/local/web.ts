/**
 * The PWA's web server for the local cloud: Vite's dev server, or (`builtDir`) a production
 * build served as CloudFront serves it, with the production headers and Content-Security-Policy
 * (./built-web.ts, infra/web-policy.ts) naming the local gateway and S3. `/config.json` answers
 * the WebSocket URL, the same runtime config file that the AWS stack writes next to the built
 * app at deploy time.
 *
 * With `https`, the server uses a generated self-signed certificate (a phone on the LAN needs a
 * secure context for WebCrypto), and the browser reaches everything through this one origin:
 * `/ws` proxies the gateway's WebSocket and `/s3` the S3 API, so no second certificate has to be
 * accepted and no mixed content is blocked. config.json then names `wss://<the host the browser
 * used>/ws`, and the Lambdas sign presigned URLs for `<public base>/s3`.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { resolve } from 'node:path';
import basicSsl from '@vitejs/plugin-basic-ssl';
import type { WebPolicyOrigins } from '../web-policy';
import { builtFileHeaders, builtWebMiddleware, type BuiltWebOptions } from './built-web';
import {
  createServer,
  preview,
  type Connect,
  type Plugin,
  type ProxyOptions,
  type ResolvedServerUrls,
} from 'vite';

export const RUNTIME_CONFIG_PATH = '/config.json';
export const WEBSOCKET_PROXY_PATH = '/ws';
export const S3_PROXY_PATH = '/s3';
export const WEB_ROOT = resolve(import.meta.dirname, '../../web');

export interface WebServerOptions {
  readonly port: number;
  readonly host: string;
  /** The gateway's own URL, e.g. ws://127.0.0.1:3001/local. */
  readonly gatewayUrl: string;
  /** The S3 API's own endpoint, e.g. http://127.0.0.1:4568. */
  readonly s3Endpoint: string;
  /** Serve over HTTPS with a self-signed certificate cached in this folder. */
  readonly httpsCertDir?: string;
  /** The host name or address other devices use to reach this machine (for the certificate). */
  readonly publicHost?: string;
  /** Serve this production build (`npm run build:web`) instead of the dev server. */
  readonly builtDir?: string;
}

export interface WebServer {
  /** The URL on this machine, e.g. https://127.0.0.1:5173/. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** What config.json answers to a request that reached this server under `requestHost`. */
export function runtimeConfigFor(
  options: Pick<WebServerOptions, 'gatewayUrl' | 'httpsCertDir'>,
  requestHost: string | undefined,
): { websocketUrl: string } {
  if (options.httpsCertDir && requestHost)
    return { websocketUrl: `wss://${requestHost}${WEBSOCKET_PROXY_PATH}` };
  return { websocketUrl: options.gatewayUrl };
}

/** Where a page of the local cloud may connect: the gateway and S3 (their proxies are same-origin). */
export function localPolicyOrigins(
  options: Pick<WebServerOptions, 'gatewayUrl' | 's3Endpoint'>,
): WebPolicyOrigins {
  return {
    websocket: new URL(options.gatewayUrl).origin,
    blobs: new URL(options.s3Endpoint).origin,
  };
}

/** How a production build is served here: CloudFront's headers, without HSTS over local HTTPS. */
function builtWebOptions(options: WebServerOptions): BuiltWebOptions {
  return {
    origins: localPolicyOrigins(options),
    hsts: !options.httpsCertDir,
    otherRoutes: [RUNTIME_CONFIG_PATH, WEBSOCKET_PROXY_PATH, `${S3_PROXY_PATH}/`],
  };
}

function runtimeConfigPlugin(options: WebServerOptions): Plugin {
  const middleware: Connect.NextHandleFunction = (request, response) => {
    const headers = options.builtDir
      ? builtFileHeaders(RUNTIME_CONFIG_PATH.slice(1), builtWebOptions(options))
      : { 'content-type': 'application/json', 'cache-control': 'no-store' };
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    // HTTP/2 (which browsers use over TLS) names the host in :authority, not Host.
    const host = request.headers.host ?? (request.headers[':authority'] as string | undefined);
    response.end(JSON.stringify(runtimeConfigFor(options, host)));
  };
  return {
    name: 'cipherline-runtime-config',
    configureServer: (server) => void server.middlewares.use(RUNTIME_CONFIG_PATH, middleware),
    configurePreviewServer: (server) =>
      void server.middlewares.use(RUNTIME_CONFIG_PATH, middleware),
  };
}

/** The production build's files with CloudFront's headers, ahead of Vite's own static server. */
function builtWebPlugin(builtDir: string, options: WebServerOptions): Plugin {
  return {
    name: 'cipherline-built-web',
    configurePreviewServer: (server) =>
      void server.middlewares.use(builtWebMiddleware(builtDir, builtWebOptions(options))),
  };
}

/** Same-origin routes to the gateway and to S3, for browsers that can reach only this server. */
export function localCloudProxies(
  gatewayUrl: string,
  s3Endpoint: string,
): Record<string, ProxyOptions> {
  const gateway = new URL(gatewayUrl);
  const stagePath = gateway.pathname.replace(/\/$/, '');
  return {
    [WEBSOCKET_PROXY_PATH]: {
      target: `http://${gateway.host}`,
      ws: true,
      rewrite: (path) => stagePath + path.slice(WEBSOCKET_PROXY_PATH.length),
    },
    [`${S3_PROXY_PATH}/`]: {
      target: s3Endpoint,
      rewrite: (path) => path.slice(S3_PROXY_PATH.length),
    },
  };
}

/**
 * The address other devices reach this machine at: the listen address itself, or for a wildcard
 * address the first LAN IPv4 address (container and VM bridges skipped).
 */
export function publicHostFor(
  listenHost: string,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string {
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenHost;
  const virtual = /^(docker|br-|veth|virbr|vmnet|lo)/;
  for (const [name, addresses] of Object.entries(interfaces)) {
    if (virtual.test(name)) continue;
    const lan = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (lan) return lan.address;
  }
  return '127.0.0.1';
}

function firstUrl(urls: ResolvedServerUrls | null, fallback: string): string {
  return urls?.local[0] ?? fallback;
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const plugins: Plugin[] = [runtimeConfigPlugin(options)];
  if (options.httpsCertDir) {
    const domains = ['localhost', '127.0.0.1', options.publicHost ?? options.host];
    plugins.push(basicSsl({ certDir: options.httpsCertDir, name: 'cipherline-local', domains }));
  }
  const proxy = localCloudProxies(options.gatewayUrl, options.s3Endpoint);
  const scheme = options.httpsCertDir ? 'https' : 'http';
  const fallback = `${scheme}://${options.host}:${options.port}/`;
  const shared = {
    root: WEB_ROOT,
    configFile: resolve(WEB_ROOT, 'vite.config.ts'),
    plugins,
    logLevel: 'warn' as const,
    clearScreen: false,
  };
  const listen = {
    port: options.port,
    host: options.host,
    strictPort: true,
    proxy,
    // Vite refuses Host names it does not know (DNS rebinding); addresses always pass.
    ...(options.publicHost && { allowedHosts: [options.publicHost] }),
  };
  if (options.builtDir) {
    const server = await preview({
      ...shared,
      plugins: [...plugins, builtWebPlugin(options.builtDir, options)],
      // As CloudFront: no SPA fallback page for unknown paths, no CORS headers.
      appType: 'custom',
      build: { outDir: options.builtDir },
      preview: { ...listen, cors: false },
    });
    return served(firstUrl(server.resolvedUrls, fallback), options.port, () => server.close());
  }
  const server = await createServer({ ...shared, server: listen });
  await server.listen();
  return served(firstUrl(server.resolvedUrls, fallback), options.port, () => server.close());
}

function served(url: string, port: number, close: () => Promise<void>): WebServer {
  return { url, port: Number(new URL(url).port) || port, close };
}
