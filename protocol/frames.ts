/**
 * Frame schemas shared by server and clients. Every client frame is JSON text
 * `{action, id, ...}` and gets exactly one reply `{type:'ok'|'error', replyTo: id, ...}`.
 */
import { z } from 'zod';
import { ProtocolError, type ErrorCode } from './errors';
import { COMMAND_ROUTES } from './routes';

/** The client's id for a frame (a UUID in practice); echoed back as `replyTo`. */
export const FrameId = z.string().min(1).max(64);

export const BaseFrame = z.object({
  action: z.enum(COMMAND_ROUTES),
  id: FrameId,
});

export const PingFrame = BaseFrame.extend({
  action: z.literal('ping'),
  /** Echoed back in the pushed `pong` event. */
  echo: z.string().max(1024).optional(),
});
export type PingFrame = z.infer<typeof PingFrame>;
/** What `ping` answers; the `pong` event follows when the frame names an `echo`. */
export interface PingReply {
  serverTime: number;
}

export type OkReply<T extends object = object> = { type: 'ok'; replyTo: string } & T;
export type ErrorReply = { type: 'error'; replyTo?: string; code: ErrorCode; message: string };
export type Reply = OkReply | ErrorReply;

export const ok = <T extends object>(replyTo: string, body: T): OkReply<T> => ({
  type: 'ok',
  replyTo,
  ...body,
});

export const errorReply = (code: ErrorCode, message: string, replyTo?: string): ErrorReply =>
  replyTo === undefined
    ? { type: 'error', code, message }
    : { type: 'error', replyTo, code, message };

/** At most this many characters of a JSON path or message go into an error text. */
const MAX_ISSUES = 3;

/** Parses with a schema; failures become one readable BAD_REQUEST naming the fields at fault. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues
    .slice(0, MAX_ISSUES)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : 'frame'}: ${issue.message}`)
    .join('; ');
  throw new ProtocolError('BAD_REQUEST', `Invalid frame (${details}).`);
}

/** JSON text to a value; not-JSON becomes BAD_REQUEST. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ProtocolError(
      'BAD_REQUEST',
      'Frames must be JSON text like {"action":"ping","id":"1"}.',
    );
  }
}

/** The id of a frame if it has a usable one, so even a rejected frame's error can be matched. */
export function frameIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const parsed = FrameId.safeParse((value as { id?: unknown }).id);
  return parsed.success ? parsed.data : undefined;
}
