/**
 * The terminal client's MessageSocket: the session's ReconnectingSocket on the `ws` library
 * (Node 20 has no WebSocket of its own). A terminal has no network events to watch: it retries
 * on the back-off alone.
 */
import WebSocket from 'ws';
import {
  ReconnectingSocket,
  type ReconnectingSocketOptions,
  type WebSocketLike,
} from '../session/reconnecting-socket';
import type { MessageSocket } from '../session/ports';

export function nodeSocket(
  options: Omit<ReconnectingSocketOptions, 'createSocket'>,
): ReconnectingSocket {
  return new ReconnectingSocket({
    ...options,
    createSocket: (url) => new WebSocket(url) as unknown as WebSocketLike,
  });
}

export const connectNodeSocket = (url: string): MessageSocket => nodeSocket({ url });
