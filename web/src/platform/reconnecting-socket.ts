/**
 * The PWA's reconnecting WebSocket: the session's ReconnectingSocket (client/session/) on the
 * browser's WebSocket, retrying at once when a retry is worth it: the browser comes back
 * `online`, the page becomes visible again (a phone waking up), the network changes, or the page
 * returns from the back-forward cache. While the browser reports no network nothing is tried
 * (and an open socket is dropped: its TCP path is gone).
 */
import {
  ReconnectingSocket as SessionSocket,
  type NetworkWatch,
  type ReconnectingSocketOptions as SessionSocketOptions,
  type WebSocketLike,
} from '../../../client/session/reconnecting-socket';

export type ReconnectingSocketOptions = Omit<SessionSocketOptions, 'createSocket' | 'network'>;

type NetworkInformationLike = EventTarget & { readonly type?: string };

/** online/offline, visibility, network changes and the back-forward cache, as the socket needs them. */
export const browserNetwork: NetworkWatch = {
  isOnline: () => navigator.onLine,
  subscribe({ retrySoon, offline }) {
    const unwatch: (() => void)[] = [];
    const on = (target: EventTarget, type: string, handler: (event: Event) => void) => {
      target.addEventListener(type, handler);
      unwatch.push(() => target.removeEventListener(type, handler));
    };
    on(window, 'online', retrySoon);
    on(window, 'offline', offline);
    on(document, 'visibilitychange', () => {
      if (document.visibilityState === 'visible') retrySoon();
    });
    on(window, 'pageshow', (event) => {
      if ((event as PageTransitionEvent).persisted) retrySoon();
    });
    const connection = (navigator as Navigator & { connection?: NetworkInformationLike })
      .connection;
    if (connection) on(connection, 'change', retrySoon);
    return () => unwatch.forEach((stop) => stop());
  },
};

export class ReconnectingSocket extends SessionSocket {
  constructor(options: ReconnectingSocketOptions) {
    super({
      ...options,
      createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
      network: browserNetwork,
    });
  }
}
