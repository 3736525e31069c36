/**
 * The runtime configuration, `/config.json`, written next to the built app at deploy time (or
 * answered by the local cloud's web server), so one build serves any stack.
 */
export interface RuntimeConfig {
  /** wss:// (or ws:// on localhost) URL of the WebSocket API. */
  readonly websocketUrl: string;
}

export const RUNTIME_CONFIG_PATH = '/config.json';

export class RuntimeConfigError extends Error {
  override readonly name = 'RuntimeConfigError';
}

/** Checks the file's shape; a relative URL is resolved against the page (same-origin proxies). */
export function parseRuntimeConfig(json: unknown, pageUrl: string): RuntimeConfig {
  const raw = (json as { websocketUrl?: unknown } | null)?.websocketUrl;
  if (typeof raw !== 'string' || raw === '')
    throw new RuntimeConfigError('config.json has no "websocketUrl": redeploy the web app.');
  const page = new URL(pageUrl);
  const url = new URL(raw, page.href.replace(/^http/, 'ws'));
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:')
    throw new RuntimeConfigError(`config.json names "${raw}", which is not a WebSocket URL.`);
  if (page.protocol === 'https:' && url.protocol === 'ws:')
    throw new RuntimeConfigError(
      `This page is served over HTTPS but config.json names an unencrypted WebSocket (${raw}); browsers refuse that. Use a wss:// URL.`,
    );
  return { websocketUrl: url.href };
}

export async function loadRuntimeConfig(): Promise<RuntimeConfig> {
  let response: Response;
  try {
    response = await fetch(RUNTIME_CONFIG_PATH, { cache: 'no-store' });
  } catch {
    throw new RuntimeConfigError('Cannot load config.json: no network. It retries when online.');
  }
  if (!response.ok)
    throw new RuntimeConfigError(
      `config.json answered ${response.status}: the web app is deployed without its configuration.`,
    );
  return parseRuntimeConfig(await response.json(), location.href);
}
