/**
 * Drives the PWA's reconnecting WebSocket in the page. Its events are kept on
 * `window.socketProbe` so the Node side can wait for them with `page.waitForFunction`.
 */
import { ReconnectingSocket } from '../../../web/src/platform/reconnecting-socket';
import type { BackoffPolicy } from '../../../web/src/platform/backoff';
import type { SocketEvent, SocketState } from '../../../web/src/platform/ports';

type Op =
  | { op: 'start'; url: string; backoff: BackoffPolicy }
  | { op: 'send'; text: string }
  | { op: 'stop' }
  | { op: 'reconnectNow' }
  | { op: 'visible' };

interface Probe {
  state: SocketState;
  opens: number;
  messages: string[];
  closes: { code: number; reason: string }[];
  states: SocketState['status'][];
}

let socket: ReconnectingSocket | undefined;

export default function run(input: Op): unknown {
  switch (input.op) {
    case 'start': {
      const probe: Probe = {
        state: { status: 'stopped' },
        opens: 0,
        messages: [],
        closes: [],
        states: [],
      };
      (window as unknown as { socketProbe: Probe }).socketProbe = probe;
      socket = new ReconnectingSocket({ url: input.url, backoff: input.backoff });
      socket.subscribe((event: SocketEvent) => {
        if (event.type === 'state') {
          probe.state = event.state;
          probe.states.push(event.state.status);
        } else if (event.type === 'open') probe.opens += 1;
        else if (event.type === 'message') probe.messages.push(event.text);
        else probe.closes.push({ code: event.code, reason: event.reason });
      });
      socket.start();
      return socket.state;
    }
    case 'send':
      try {
        socket!.send(input.text);
        return 'sent';
      } catch (error) {
        return (error as Error).name;
      }
    case 'stop':
      socket!.stop();
      return socket!.state;
    case 'reconnectNow':
      socket!.reconnectNow();
      return socket!.state;
    case 'visible':
      // Headless pages are always visible; the event is what a phone waking up fires.
      document.dispatchEvent(new Event('visibilitychange'));
      return socket!.state;
  }
}
