/**
 * Placeholder screen state: reads the runtime config and opens a WebSocket to the gateway (the
 * handshake runs the real $connect Lambda), showing how long that took.
 */
type Status = 'checking' | 'connected' | 'failed';

export class ConnectionCheck {
  status = $state<Status>('checking');
  websocketUrl = $state<string | undefined>();
  connectMs = $state<number | undefined>();
  problem = $state<string | undefined>();

  async run(): Promise<void> {
    try {
      const response = await fetch('/config.json', { cache: 'no-store' });
      const config = (await response.json()) as { websocketUrl: string };
      this.websocketUrl = config.websocketUrl;
      this.connectMs = await timeHandshake(config.websocketUrl);
      this.status = 'connected';
    } catch (error) {
      this.problem = error instanceof Error ? error.message : String(error);
      this.status = 'failed';
    }
  }
}

function timeHandshake(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = new WebSocket(url);
    const timer = setTimeout(
      () => reject(new Error('The cloud did not answer within 5 s. Is `npm start` running?')),
      5000,
    );
    socket.onopen = () => {
      clearTimeout(timer);
      socket.close();
      resolve(Math.round(performance.now() - started));
    };
    socket.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`Cannot reach ${url}. Is \`npm start\` running?`));
    };
  });
}
