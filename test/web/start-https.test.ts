/** `npm start -- --https` as a user runs it: what it prints, and what the phone's origin serves. */
import { request } from 'node:https';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/local/stack';
import { tempDataDir } from '../../tools/local-stack';
import { freePort, npmStart } from '../../tools/processes';

const data = tempDataDir();
afterAll(() => data.remove());

/** GET over HTTPS accepting the self-signed certificate, as the phone's user does once. */
function getInsecure(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, { rejectUnauthorized: false }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

describe('npm start -- --https', () => {
  it('prints the HTTPS address and serves the PWA, a wss config and the S3 proxy there', async () => {
    const webPort = await freePort();
    const started = npmStart(
      [
        '--data',
        data.dir,
        '--https',
        '--gateway-port',
        '0',
        '--dynamo-port',
        '0',
        '--s3-port',
        '0',
      ].concat(['--web-port', String(webPort), '--public-host', '127.0.0.1', '--quiet']),
      REPO_ROOT,
    );
    try {
      const origin = `https://127.0.0.1:${webPort}`;
      const ready = await started.waitForLine(/^Ready: /, 60_000);
      expect(ready).toContain(`${origin}/`);
      expect(started.output()).toMatch(/over HTTPS\s+a self-signed certificate/);

      expect((await getInsecure(`${origin}/`)).body).toContain('<div id="app">');
      expect(JSON.parse((await getInsecure(`${origin}/config.json`)).body)).toEqual({
        websocketUrl: `wss://127.0.0.1:${webPort}/ws`,
      });
      const bucket = await getInsecure(`${origin}/s3/cipherline-blobs`);
      expect(bucket).toMatchObject({ status: 200 });
      expect(bucket.body).toContain('<Name>cipherline-blobs</Name>');
    } finally {
      started.interrupt();
      await started.exited;
    }
    expect(started.output()).toContain('Stopped. Data kept in');
  }, 90_000);
});
