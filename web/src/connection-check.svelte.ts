/** Placeholder screen state: reads the runtime config and pings the gateway once. */
type Status = 'checking' | 'connected' | 'failed';

export class ConnectionCheck {
  status = $state<Status>('checking');
  websocketUrl = $state<string | undefined>();
  roundTripMs = $state<number | undefined>();
  problem = $state<string | undefined>();

  async run(): Promise<void> {
    try {
      const config = (await (await fetch('/config.json', { cache: 'no-store' })).json()) as {
        websocketUrl: string;
      };
      this.websocketUrl = config.websocketUrl;
      this.roundTripMs = await ping(config.websocketUrl);
      this.status = 'connected';
    } catch (error) {
      this.problem = error instanceof Error ? error.message : String(error);
      this.status = 'failed';
    }
  }
}

function ping(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const started = performance.now();
    const timer = setTimeout(
      () => reject(new Error('The cloud did not answer within 5 s. Is `npm start` running?')),
      5000,
    );
    socket.onopen = () => socket.send(JSON.stringify({ action: 'ping', id: crypto.randomUUID() }));
    socket.onerror = () => reject(new Error(`Cannot reach ${url}. Is \`npm start\` running?`));
    socket.onmessage = (message) => {
      const frame = JSON.parse(String(message.data)) as { type?: string };
      if (frame.type !== 'ok') return;
      clearTimeout(timer);
      socket.close();
      resolve(Math.round(performance.now() - started));
    };
  });
}
