/**
 * Frames of the account, key and 1:1 delivery commands. Binary values (auth keys, envelopes,
 * public keys) travel as standard base64 inside the JSON text.
 */
import { z } from 'zod';
import { BaseFrame } from './frames';
import { MAX_INLINE_ENVELOPE_BASE64_CHARS } from './limits';

const base64Of = (bytes: number) => z.base64().length(Math.ceil(bytes / 3) * 4);

/** A device's own id, chosen once by the device; each device has its own delivery cursor. */
export const DeviceId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'a device id has 8-64 characters of A-Z, a-z, 0-9, "_" and "-"');
export const UserName = z.string().min(1).max(64);
/** Ids a client chooses for messages (UUIDs in practice); the server dedupes on them. */
export const MessageId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'a message id has 8-64 characters of A-Z, a-z, 0-9, "_" and "-"');
export const Envelope = z.base64().min(4).max(MAX_INLINE_ENVELOPE_BASE64_CHARS);

export const AUTH_KEY_BYTES = 32;
export const SESSION_TOKEN_BYTES = 32;

const Credentials = {
  username: UserName,
  authKey: base64Of(AUTH_KEY_BYTES),
  deviceId: DeviceId,
};

export const SignupFrame = BaseFrame.extend({ action: z.literal('signup'), ...Credentials });
export const SigninFrame = BaseFrame.extend({ action: z.literal('signin'), ...Credentials });
export const ResumeFrame = BaseFrame.extend({
  action: z.literal('resume'),
  token: z.base64url().length(Math.ceil((SESSION_TOKEN_BYTES * 4) / 3)),
  deviceId: DeviceId,
});
export type SignupFrame = z.infer<typeof SignupFrame>;
export type SigninFrame = z.infer<typeof SigninFrame>;
export type ResumeFrame = z.infer<typeof ResumeFrame>;

/** What signup, signin and resume answer. The token goes into later `resume` frames, never a URL. */
export interface SessionReply {
  userId: string;
  token: string;
  expiresAt: number;
  /** Inbox items after this device's cursor, pushed right after this reply in order. */
  pending: number;
}

const PublicKey = base64Of(32);
export const PublicBundleWire = z.object({
  userId: UserName,
  identityDh: PublicKey,
  identitySign: PublicKey,
  signedPrekey: z.object({
    id: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1),
    publicKey: PublicKey,
    signature: base64Of(64),
    createdAt: z.number().int().min(0),
  }),
});
export type PublicBundleWire = z.infer<typeof PublicBundleWire>;

export const KeysFrame = z.discriminatedUnion('op', [
  /** Publish my bundle; identity keys, once set, are never silently replaced. */
  BaseFrame.extend({
    action: z.literal('keys'),
    op: z.literal('publish'),
    bundle: PublicBundleWire,
  }),
  /** Fetch another user's bundle. */
  BaseFrame.extend({ action: z.literal('keys'), op: z.literal('fetch'), userId: UserName }),
  /** Store my key backup, sealed under my backup key (opaque to the server). */
  BaseFrame.extend({ action: z.literal('keys'), op: z.literal('put-backup'), backup: Envelope }),
  /** Read my key backup back, e.g. on a new phone. */
  BaseFrame.extend({ action: z.literal('keys'), op: z.literal('get-backup') }),
]);
export type KeysFrame = z.infer<typeof KeysFrame>;

export const SendFrame = BaseFrame.extend({
  action: z.literal('send'),
  to: UserName,
  messageId: MessageId,
  envelope: Envelope,
});
export type SendFrame = z.infer<typeof SendFrame>;

export const AckFrame = BaseFrame.extend({
  action: z.literal('ack'),
  /** The last inbox sequence number this device has processed. */
  seq: z.number().int().min(0),
});
export type AckFrame = z.infer<typeof AckFrame>;

/** An inbox item pushed to a device: a 1:1 envelope, in the recipient's sequence order. */
export interface MessageEvent {
  type: 'message';
  seq: number;
  from: string;
  messageId: string;
  envelope: string;
  sentAt: number;
}

/**
 * A delivery receipt, pushed to the sender once a device of the recipient has acknowledged the
 * message (its `ack` passed the message's sequence number). One per recipient and message.
 */
export interface ReceiptEvent {
  type: 'receipt';
  seq: number;
  /** The recipient who received it. */
  from: string;
  /** The sender's own message id. */
  messageId: string;
  status: 'delivered';
  at: number;
}
