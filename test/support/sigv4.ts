/**
 * An independent check of SigV4 presigned S3 URLs (query-string auth), written from AWS's
 * specification rather than with the SDK's signer: recompute the signature for given request
 * headers and compare it with the URL's. s3rver verifies no signatures, so this is how tests
 * prove what a URL really binds (e.g. an exact Content-Length).
 */
import { createHash, createHmac } from 'node:crypto';

const rfc3986 = (value: string) =>
  encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );

const hmac = (key: Buffer | string, data: string) =>
  createHmac('sha256', key).update(data).digest();
const sha256Hex = (data: string) => createHash('sha256').update(data).digest('hex');

export interface PresignedParts {
  readonly signedHeaders: string[];
  readonly expiresSeconds: number;
  readonly date: string;
  readonly credential: string;
}

export function presignedParts(url: string): PresignedParts {
  const params = new URL(url).searchParams;
  return {
    signedHeaders: (params.get('X-Amz-SignedHeaders') ?? '').split(';'),
    expiresSeconds: Number(params.get('X-Amz-Expires')),
    date: params.get('X-Amz-Date') ?? '',
    credential: params.get('X-Amz-Credential') ?? '',
  };
}

/**
 * True when the URL's signature is the one AWS computes for `method` with exactly these header
 * values (lower-case names; `host` is taken from the URL).
 */
export function signatureMatches(
  url: string,
  method: string,
  headers: Record<string, string>,
  secretAccessKey: string,
): boolean {
  const parsed = new URL(url);
  const params = [...parsed.searchParams.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  const canonicalQuery = params
    .map(([k, v]) => [rfc3986(k), rfc3986(v)] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const signedHeaders = (parsed.searchParams.get('X-Amz-SignedHeaders') ?? '').split(';');
  const values: Record<string, string> = { ...headers, host: parsed.host };
  const canonicalHeaders = signedHeaders.map((h) => `${h}:${(values[h] ?? '').trim()}\n`).join('');
  const canonicalRequest = [
    method,
    parsed.pathname,
    canonicalQuery,
    canonicalHeaders,
    signedHeaders.join(';'),
    parsed.searchParams.get('X-Amz-Content-Sha256') ?? 'UNSIGNED-PAYLOAD',
  ].join('\n');
  const date = parsed.searchParams.get('X-Amz-Date') ?? '';
  const [, day, region, service, terminator] = (
    parsed.searchParams.get('X-Amz-Credential') ?? ''
  ).split('/');
  const scope = [day, region, service, terminator].join('/');
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256Hex(canonicalRequest)].join('\n');
  let key: Buffer = hmac(`AWS4${secretAccessKey}`, day!);
  for (const part of [region!, service!, terminator!]) key = hmac(key, part);
  const signature = createHmac('sha256', key).update(stringToSign).digest('hex');
  return signature === parsed.searchParams.get('X-Amz-Signature');
}
