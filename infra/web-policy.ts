/**
 * What browsers are told about the PWA, defined once: the security headers (with the
 * Content-Security-Policy), how long each file of the production build may be cached, and which
 * web origins the blob bucket's CORS lets read it. The CloudFront response headers policy and the
 * web deployment (infra/cdk/web-hosting.ts) are built from this module, and so is the local
 * server of the production build (infra/local/built-web.ts), which the browser test runs the
 * app behind.
 */

/** The origins the page may connect to besides its own. */
export interface WebPolicyOrigins {
  /** The WebSocket API, e.g. `wss://a1b2c3.execute-api.eu-west-1.amazonaws.com`. */
  readonly websocket: string;
  /** The blob bucket as presigned URLs name it, e.g. `https://<bucket>.s3.eu-west-1.amazonaws.com`. */
  readonly blobs: string;
}

/**
 * The Content-Security-Policy directives. Everything not named is refused (`default-src 'none'`).
 * - scripts and workers only from the app's own files; `'wasm-unsafe-eval'` lets Argon2id's
 *   WebAssembly (hash-wasm) compile, and allows no JavaScript `eval`;
 * - connections to the app's origin (config.json, the service worker's fetches), the stack's
 *   WebSocket API and its blob bucket, nothing else;
 * - images and media from the app and `blob:` (previews of decrypted files), `data:` images;
 * - no plugins, no framing, no `<base>`, no form posts.
 */
export function cspDirectives(origins: WebPolicyOrigins): Record<string, readonly string[]> {
  return {
    'default-src': ["'none'"],
    'script-src': ["'self'", "'wasm-unsafe-eval'"],
    'worker-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'blob:', 'data:'],
    'media-src': ["'self'", 'blob:'],
    'font-src': ["'self'"],
    'manifest-src': ["'self'"],
    'connect-src': ["'self'", origins.websocket, origins.blobs],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
  };
}

export function contentSecurityPolicy(origins: WebPolicyOrigins): string {
  return Object.entries(cspDirectives(origins))
    .map(([directive, sources]) => `${directive} ${sources.join(' ')}`)
    .join('; ');
}

/**
 * The other security headers, in the shape CloudFront's response headers policy takes them
 * (typed security headers, then custom headers), so both sides render the same values.
 */
export const SECURITY_HEADERS = {
  /** Two years, subdomains included; not preloaded (a cloudfront.net name cannot be). */
  strictTransportSecurity: { maxAgeSeconds: 63_072_000, includeSubdomains: true },
  contentTypeOptions: 'nosniff',
  frameOptions: 'DENY',
  /** Presigned URLs and chat ids never leave in a Referer header. */
  referrerPolicy: 'no-referrer',
  custom: {
    /** The microphone and camera for voice notes and photos; nothing else a page could ask for. */
    'permissions-policy': 'camera=(self), microphone=(self), geolocation=(), payment=(), usb=()',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  },
} as const;

export function strictTransportSecurity(): string {
  const { maxAgeSeconds, includeSubdomains } = SECURITY_HEADERS.strictTransportSecurity;
  return `max-age=${maxAgeSeconds}${includeSubdomains ? '; includeSubDomains' : ''}`;
}

export interface SecurityHeaderOptions {
  /**
   * Whether to send Strict-Transport-Security. CloudFront always does. A local server over
   * HTTPS must not: the self-signed development host would be pinned to HTTPS for two years.
   * (Over plain HTTP browsers ignore the header, so sending it there changes nothing.)
   */
  readonly hsts?: boolean;
}

/** Every security header of a response, names in lower case. */
export function securityHeaders(
  origins: WebPolicyOrigins,
  options: SecurityHeaderOptions = {},
): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(origins),
    ...((options.hsts ?? true) && { 'strict-transport-security': strictTransportSecurity() }),
    'x-content-type-options': SECURITY_HEADERS.contentTypeOptions,
    'x-frame-options': SECURITY_HEADERS.frameOptions,
    'referrer-policy': SECURITY_HEADERS.referrerPolicy,
    ...SECURITY_HEADERS.custom,
  };
}

// ---------------------------------------------------------------------------------------------
// Caching: a class per kind of file of the build, each with its Cache-Control.

export const CACHE_CONTROL = {
  /** Content-hashed names: a changed file gets a new name, so a copy never goes stale. */
  immutable: 'public, max-age=31536000, immutable',
  /** Kept, but revalidated before every use: a deployment shows on the next load. */
  revalidate: 'no-cache',
} as const;

export interface WebFileClass {
  readonly name: string;
  /**
   * Paths relative to the build's root, in the filter syntax of `aws s3 sync` (which the
   * deployment uses): `*` matches any characters, `/` included. Empty: every file that no other
   * class claims.
   */
  readonly patterns: readonly string[];
  readonly cacheControl: string;
  /**
   * Whether a deployment deletes files of this class that the new build no longer has. Hashed
   * assets stay: a tab still running the previous version may load its lazy chunks later.
   */
  readonly prune: boolean;
}

/** Disjoint classes; a file belongs to the first whose pattern matches, else to the last. */
export const WEB_FILE_CLASSES = [
  {
    name: 'hashed-assets',
    patterns: ['assets/*'],
    cacheControl: CACHE_CONTROL.immutable,
    prune: false,
  },
  {
    // index.html, the service worker and its runtime, the manifest, config.json, icons.
    name: 'entry-points',
    patterns: [],
    cacheControl: CACHE_CONTROL.revalidate,
    prune: true,
  },
] as const satisfies readonly WebFileClass[];

/** The runtime configuration file, written at deploy time (web/src/app/runtime-config.ts). */
export const RUNTIME_CONFIG_FILE = 'config.json';

/** `aws s3 sync` filter matching: the whole path, `*` for any run of characters, `?` for one. */
export function matchesFilter(path: string, pattern: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(path);
}

/** The class of a file of the build, by its path relative to the build's root (no leading `/`). */
export function webFileClass(path: string): WebFileClass {
  const specific = WEB_FILE_CLASSES.find((c) =>
    c.patterns.some((pattern) => matchesFilter(path, pattern)),
  );
  return specific ?? WEB_FILE_CLASSES[WEB_FILE_CLASSES.length - 1]!;
}

// ---------------------------------------------------------------------------------------------
// CORS of the blob bucket.

/**
 * Pages on this machine, any port: a development server may read blobs through presigned URLs.
 * CORS only decides whether a page may read a response; a URL still has to be signed first.
 */
export const DEVELOPMENT_ORIGINS = [
  'http://localhost:*',
  'https://localhost:*',
  'http://127.0.0.1:*',
  'https://127.0.0.1:*',
] as const;

/** The blob bucket's allowed origins: the app's own origin and development pages. */
export function blobCorsOrigins(webOrigin?: string): string[] {
  return [...(webOrigin ? [webOrigin] : []), ...DEVELOPMENT_ORIGINS];
}
