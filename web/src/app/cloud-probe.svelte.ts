/**
 * Until the client session lands (issue 13), the shell only checks that the cloud named in the
 * runtime config answers a WebSocket handshake (the real $connect Lambda), and how fast. The
 * probe closes its socket at once: an unbound connection would be closed by the server anyway.
 */
import { loadRuntimeConfig } from './runtime-config';

type ProbeStatus = 'idle' | 'checking' | 'connected' | 'failed';

export class CloudProbe {
  status = $state<ProbeStatus>('idle');
  websocketUrl = $state<string | undefined>();
  connectMs = $state<number | undefined>();
  problem = $state<string | undefined>();

  async run(): Promise<void> {
    this.status = 'checking';
    try {
      const { websocketUrl } = await loadRuntimeConfig();
      this.websocketUrl = websocketUrl;
      this.connectMs = await timeHandshake(websocketUrl);
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
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error('The cloud did not answer within 10 s. It is retried when you reconnect.'));
    }, 10_000);
    socket.onopen = () => {
      clearTimeout(timer);
      socket.close(1000, 'probe');
      resolve(Math.round(performance.now() - started));
    };
    socket.onerror = () => {
      clearTimeout(timer);
      reject(new Error(`Cannot reach ${url}. Is \`npm start\` running?`));
    };
  });
}
