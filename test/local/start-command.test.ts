/** `npm start` as a user runs it: the ready line, the PWA, a refused second start, Ctrl-C. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/local/stack';
import { withChromium } from '../../tools/chromium';
import { signupUser } from '../../tools/accounts';
import { tempDataDir } from '../../tools/local-stack';
import { freePort, npmStart } from '../../tools/processes';
import { TestClient } from '../../tools/ws-client';

const data = tempDataDir();
afterAll(() => data.remove());

describe('npm start', () => {
  it('serves the gateway and the PWA, says when it is ready, refuses a second start on the same data, and stops on Ctrl-C', async () => {
    const webPort = await freePort();
    const first = npmStart(
      [
        '--data',
        data.dir,
        '--gateway-port',
        '0',
        '--dynamo-port',
        '0',
        '--s3-port',
        '0',
        '--web-port',
        String(webPort),
      ],
      REPO_ROOT,
    );
    try {
      const ready = await first.waitForLine(/^Ready: /, 60_000);
      const websocketUrl = /ws:\/\/\S+/.exec(ready)![0];
      expect(ready).toContain(`http://127.0.0.1:${webPort}/`);
      expect(first.output()).toMatch(/DynamoDB API\s+http:\/\/127\.0\.0\.1:\d+/);
      expect(first.output()).toMatch(/S3 API\s+http:\/\/127\.0\.0\.1:\d+/);

      const page = await fetch(`http://127.0.0.1:${webPort}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<div id="app">');
      const config = (await (await fetch(`http://127.0.0.1:${webPort}/config.json`)).json()) as {
        websocketUrl: string;
      };
      expect(config.websocketUrl).toBe(websocketUrl);

      // The placeholder PWA, in a real Chromium, reaches the gateway through its runtime config.
      await withChromium(async (chromium) => {
        await chromium.page.goto(`http://127.0.0.1:${webPort}/`);
        await chromium.page.getByText(`Connected to ${websocketUrl}`).waitFor({ timeout: 15_000 });
      });

      const { client } = await signupUser(websocketUrl, 'first-user');
      expect(await client.request('ping')).toMatchObject({ type: 'ok' });
      client.close();

      const second = npmStart(
        [
          '--data',
          data.dir,
          '--gateway-port',
          '0',
          '--dynamo-port',
          '0',
          '--s3-port',
          '0',
          '--no-web',
        ],
        REPO_ROOT,
      );
      expect(await second.exited).toBe(1);
      expect(second.output()).toMatch(
        /Cannot start: The data folder .* is in use by another local stack/,
      );
      expect(second.output()).not.toMatch(/at .*\.ts:\d+/); // no stack trace

      first.interrupt();
      // npm's own exit status for an interrupt varies (130, or killed by the signal); the stack under it stops cleanly.
      await first.exited;
      expect(first.output()).toContain('Stopped. Data kept in');
      expect(existsSync(join(data.dir, 'lock'))).toBe(false);
      await expect(TestClient.connect(websocketUrl)).rejects.toThrow();
    } finally {
      if (first.child.exitCode === null && first.child.signalCode === null) first.interrupt();
    }
  }, 90_000);

  it('names the flag to change when a port is taken', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const started = npmStart(
        [
          '--data',
          `${data.dir}/other`,
          '--gateway-port',
          String(port),
          '--dynamo-port',
          '0',
          '--s3-port',
          '0',
          '--no-web',
        ],
        REPO_ROOT,
      );
      expect(await started.exited).toBe(1);
      expect(started.output()).toContain(
        `Cannot start: port ${port} is in use; choose another with --gateway-port.`,
      );
    } finally {
      blocker.close();
    }
  }, 60_000);
});
