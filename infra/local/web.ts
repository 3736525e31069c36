/**
 * The PWA's Vite dev server, with `/config.json` answering the local gateway's URL: the same
 * runtime config file that the AWS stack writes next to the built app at deploy time.
 */
import { resolve } from 'node:path';
import { createServer, type Plugin } from 'vite';

export interface WebServer {
  readonly url: string;
  close(): Promise<void>;
}

export const RUNTIME_CONFIG_PATH = '/config.json';

function runtimeConfigPlugin(websocketUrl: string): Plugin {
  return {
    name: 'cipherline-runtime-config',
    configureServer(server) {
      server.middlewares.use(RUNTIME_CONFIG_PATH, (_request, response) => {
        response.setHeader('content-type', 'application/json');
        response.setHeader('cache-control', 'no-store');
        response.end(JSON.stringify({ websocketUrl }));
      });
    },
  };
}

export async function startWebServer(options: {
  port: number;
  host: string;
  websocketUrl: string;
}): Promise<WebServer> {
  const root = resolve(import.meta.dirname, '../../web');
  const server = await createServer({
    root,
    configFile: resolve(root, 'vite.config.ts'),
    plugins: [runtimeConfigPlugin(options.websocketUrl)],
    server: { port: options.port, host: options.host, strictPort: true },
    logLevel: 'warn',
    clearScreen: false,
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0] ?? `http://${options.host}:${options.port}/`;
  return { url, close: () => server.close() };
}
