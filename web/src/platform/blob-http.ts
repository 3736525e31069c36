/**
 * The session's BlobHttp in the browser: its default (fetchBlobHttp), except that a part is PUT
 * as a Blob. Measured in Chromium 156 against a local server: an 8 MiB PUT whose body is a
 * Uint8Array resolved 3-6 s after the server had received it and answered, the same bytes as a
 * Blob in about 0.3 s, which made uploads crawl at well under 1 MB/s. The Blob's copy lives in
 * the browser's blob storage, not in the page, and is dropped once the request is done.
 */
import { fetchBlobHttp } from '../../../client/session/blob-transfer';
import type { BlobHttp } from '../../../client/session/ports';

export const browserBlobHttp: BlobHttp = {
  async put(url, body, contentType) {
    const response = await fetch(url, {
      method: 'PUT',
      body: new Blob([body as Uint8Array<ArrayBuffer>], { type: contentType }),
      headers: { 'content-type': contentType },
    });
    await response.arrayBuffer().catch(() => undefined);
    const etag = response.headers.get('etag');
    return { status: response.status, ...(etag !== null && { etag }) };
  },
  get: fetchBlobHttp.get,
};
