/** The durable events of a catch-up page as tests and benchmarks read them off the wire (docs/protocol.md section 2). */
export type WireEvent = Record<string, unknown> & {
  type: string;
  stream: string;
  messageId: string;
  seq?: number;
};
export interface WirePage {
  events: WireEvent[];
  through: Record<string, number>;
  more: boolean;
  retryAfterMs?: number;
}

export const DURABLE_TYPES = [
  'message',
  'receipt',
  'group-message',
  'key-share',
  'epoch',
  'member-joined',
  'member-left',
];
export const isDurable = (message: Record<string, unknown>) =>
  DURABLE_TYPES.includes(message.type as string) && message.replyTo === undefined;
