/**
 * Serves a production build of the PWA the way CloudFront serves it from its bucket: the
 * security headers and Content-Security-Policy of infra/web-policy.ts on every response, each
 * file's Cache-Control by its class, `/` as index.html, and nothing else (no fallback page for
 * unknown paths, no dot-folders such as Vite's `.vite/` manifest, which is not deployed).
 */
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import {
  securityHeaders,
  webFileClass,
  type SecurityHeaderOptions,
  type WebPolicyOrigins,
} from '../web-policy';

/** As the deployment's `aws s3 sync` names them (Python's MIME table). */
const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

export interface BuiltWebOptions extends SecurityHeaderOptions {
  /** Where the page may connect: the local gateway and S3 (or their proxies). */
  readonly origins: WebPolicyOrigins;
  /** Path prefixes answered by other middleware (the proxies, config.json); all else is a file or 404. */
  readonly otherRoutes?: readonly string[];
}

/** The headers a file of the build is served with (path relative to the build, no leading `/`). */
export function builtFileHeaders(path: string, options: BuiltWebOptions): Record<string, string> {
  return {
    ...securityHeaders(options.origins, options),
    'cache-control': webFileClass(path).cacheControl,
    'content-type': CONTENT_TYPES[extname(path)] ?? 'application/octet-stream',
  };
}

/** The build-relative path a request names, or undefined for one no deployment could hold. */
export function requestedFile(url: string): string | undefined {
  const pathname = decodeURIComponent(new URL(url, 'http://localhost').pathname);
  const path = pathname === '/' ? 'index.html' : pathname.slice(1);
  if (path === '' || path.endsWith('/')) return undefined;
  if (path.split('/').some((segment) => segment.startsWith('.') || segment === ''))
    return undefined;
  return path;
}

/**
 * Connect-style middleware: answers GET and HEAD for files of `dir`, 404 for any other GET or
 * HEAD outside `otherRoutes`, and passes the rest on.
 */
export function builtWebMiddleware(dir: string, options: BuiltWebOptions) {
  const root = resolve(dir);
  const notFound = (response: ServerResponse) => {
    response.writeHead(404, {
      ...securityHeaders(options.origins, options),
      'content-type': 'text/plain; charset=utf-8',
    });
    response.end('Not found');
  };
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    const url = request.url ?? '/';
    if (request.method !== 'GET' && request.method !== 'HEAD') return next();
    if (options.otherRoutes?.some((prefix) => url.startsWith(prefix))) return next();
    let path: string | undefined;
    try {
      path = requestedFile(url);
    } catch {
      path = undefined; // a malformed %-escape names no file
    }
    const file = path === undefined ? undefined : resolve(join(root, path));
    if (!path || !file || !file.startsWith(root + sep)) return notFound(response);
    void (async () => {
      const info = await stat(file).catch(() => undefined);
      if (!info?.isFile()) return notFound(response);
      const body = await readFile(file);
      response.writeHead(200, {
        ...builtFileHeaders(path, options),
        'content-length': String(body.length),
      });
      response.end(request.method === 'HEAD' ? undefined : body);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500);
      response.end();
    });
  };
}
