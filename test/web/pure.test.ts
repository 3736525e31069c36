/** The PWA's pure parts and the web server's choices, in Node. */
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../web/src/platform/backoff';
import { parseRuntimeConfig, RuntimeConfigError } from '../../web/src/app/runtime-config';
import { hrefFor, parseRoute, type Route } from '../../web/src/app/routes';
import { localCloudProxies, publicHostFor, runtimeConfigFor } from '../../infra/local/web';

describe('back-off', () => {
  const policy = { initialMs: 1000, maxMs: 30_000, multiplier: 2 };
  it('doubles its ceiling per attempt up to the cap, and jitters within the upper half', () => {
    const ceilings = [1, 2, 3, 4, 5, 6, 7].map((attempt) => backoffDelay(attempt, policy, () => 1));
    expect(ceilings).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
    const floors = [1, 2, 6].map((attempt) => backoffDelay(attempt, policy, () => 0));
    expect(floors).toEqual([500, 1000, 15000]);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(3000);
  });
});

describe('runtime config', () => {
  it('takes an absolute WebSocket URL as it is', () => {
    expect(
      parseRuntimeConfig(
        { websocketUrl: 'wss://abc.execute-api.eu-west-1.amazonaws.com/prod' },
        'https://app.example/',
      ),
    ).toEqual({ websocketUrl: 'wss://abc.execute-api.eu-west-1.amazonaws.com/prod' });
  });
  it('resolves a path against the page, as ws or wss like the page', () => {
    expect(parseRuntimeConfig({ websocketUrl: '/ws' }, 'https://192.168.1.5:5173/#/chats')).toEqual(
      {
        websocketUrl: 'wss://192.168.1.5:5173/ws',
      },
    );
    expect(parseRuntimeConfig({ websocketUrl: '/ws' }, 'http://127.0.0.1:5173/')).toEqual({
      websocketUrl: 'ws://127.0.0.1:5173/ws',
    });
  });
  it('refuses a missing URL, another scheme, and ws:// under an https page, saying what to do', () => {
    expect(() => parseRuntimeConfig({}, 'https://a/')).toThrow(RuntimeConfigError);
    expect(() => parseRuntimeConfig(null, 'https://a/')).toThrow(/no "websocketUrl"/);
    expect(() => parseRuntimeConfig({ websocketUrl: 'https://a/x' }, 'https://a/')).toThrow(
      /not a WebSocket URL/,
    );
    expect(() => parseRuntimeConfig({ websocketUrl: 'ws://a:1/x' }, 'https://a/')).toThrow(
      /Use a wss:\/\/ URL/,
    );
  });
});

describe('routes', () => {
  it('parses every route and writes it back', () => {
    const routes: Route[] = [
      { name: 'chats' },
      { name: 'chat', chatId: 'bob smith/ü' },
      { name: 'chat', chatId: 'g:team' },
      { name: 'new' },
      { name: 'groups' },
      { name: 'group', groupId: 'team/x' },
      { name: 'safety', userId: 'bob' },
      { name: 'settings' },
    ];
    for (const route of routes) expect(parseRoute(hrefFor(route))).toEqual(route);
    expect(parseRoute('')).toEqual({ name: 'chats' });
    expect(parseRoute('#/nope')).toEqual({ name: 'not-found', path: '/nope' });
    expect(parseRoute('#/chat/%E0%A4%A')).toEqual({ name: 'not-found', path: '/chat/%E0%A4%A' });
    expect(parseRoute('#/chat/a/b')).toEqual({ name: 'not-found', path: '/chat/a/b' });
    expect(parseRoute('#/group/')).toEqual({ name: 'not-found', path: '/group/' });
  });
});

describe('web server choices', () => {
  const iface = (address: string, internal = false) => ({
    address,
    internal,
    family: 'IPv4' as const,
    netmask: '255.255.255.0',
    mac: '00:00:00:00:00:00',
    cidr: null,
  });
  it('names the LAN address for a wildcard listen address, skipping loopback and bridges', () => {
    const interfaces = {
      lo: [iface('127.0.0.1', true)],
      docker0: [iface('172.17.0.1')],
      wlan0: [iface('192.168.1.23')],
    };
    expect(publicHostFor('0.0.0.0', interfaces)).toBe('192.168.1.23');
    expect(publicHostFor('0.0.0.0', { lo: [iface('127.0.0.1', true)] })).toBe('127.0.0.1');
    expect(publicHostFor('10.0.0.4', interfaces)).toBe('10.0.0.4');
  });
  it('config.json names the proxied wss URL under HTTPS, the gateway itself otherwise', () => {
    const gatewayUrl = 'ws://127.0.0.1:3001/local';
    expect(runtimeConfigFor({ gatewayUrl, httpsCertDir: '/tls' }, '192.168.1.23:5173')).toEqual({
      websocketUrl: 'wss://192.168.1.23:5173/ws',
    });
    expect(runtimeConfigFor({ gatewayUrl }, '127.0.0.1:5173')).toEqual({
      websocketUrl: gatewayUrl,
    });
  });
  it('proxies /ws to the gateway stage and /s3/ to the S3 API', () => {
    const proxies = localCloudProxies('ws://127.0.0.1:3001/local', 'http://127.0.0.1:4568');
    expect(proxies['/ws']).toMatchObject({ target: 'http://127.0.0.1:3001', ws: true });
    expect(proxies['/ws']!.rewrite!('/ws?x=1')).toBe('/local?x=1');
    expect(proxies['/s3/']).toMatchObject({ target: 'http://127.0.0.1:4568' });
    expect(proxies['/s3/']!.rewrite!('/s3/cipherline-blobs/k?X-Amz-Signature=1')).toBe(
      '/cipherline-blobs/k?X-Amz-Signature=1',
    );
  });
});
