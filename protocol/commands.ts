/**
 * Frames of the account, key and 1:1 delivery commands. Binary values (auth keys, envelopes,
 * public keys) travel as standard base64 inside the JSON text.
 */
import { z } from 'zod';
import type { Page } from './events';
import { BaseFrame } from './frames';
import { MAX_INLINE_ENVELOPE_BASE64_CHARS } from './limits';
import { normalizeName } from './username';

const base64Of = (bytes: number) => z.base64().length(Math.ceil(bytes / 3) * 4);

/** A device's own id, chosen once by the device; each device has its own delivery cursor. */
export const DeviceId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'a device id has 8-64 characters of A-Z, a-z, 0-9, "_" and "-"');
/** A user id as a frame names it; parses to the normalised id (the same function as signup's). */
export const UserName = z.string().min(1).max(64).transform(normalizeName);
/** Ids a client chooses for messages (UUIDs in practice); the server dedupes on them. */
export const MessageId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{8,64}$/, 'a message id has 8-64 characters of A-Z, a-z, 0-9, "_" and "-"');
export const Envelope = z.base64().min(4).max(MAX_INLINE_ENVELOPE_BASE64_CHARS);

export const AUTH_KEY_BYTES = 32;
export const SESSION_TOKEN_BYTES = 32;

export const AuthKey = base64Of(AUTH_KEY_BYTES);

/**
 * A device credential, as signup, signin and `devices {op:'invite'}` answer it: opaque text the
 * client keeps and presents at its next signin (lambdas/core/device-credentials.ts).
 */
export const DeviceCredential = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[A-Za-z0-9._-]+$/, 'a device credential is the text signin or invite answered');

const Credentials = {
  username: UserName,
  authKey: AuthKey,
  deviceId: DeviceId,
};

export const SignupFrame = BaseFrame.extend({ action: z.literal('signup'), ...Credentials });
export const SigninFrame = BaseFrame.extend({
  action: z.literal('signin'),
  ...Credentials,
  /** This device's credential from its last signin, or a one-time invite for a new device. */
  deviceCredential: DeviceCredential.optional(),
});
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
  deviceId: string;
  token: string;
  /** When the session ends unless resumed before (each resume slides it, up to a cap). */
  expiresAt: number;
  /** The first page of what this device has not acknowledged yet (protocol/catch-up.ts). */
  page: Page;
  /** signup and signin only: this device's new credential (the one it presented is replaced). */
  deviceCredential?: string;
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

/** A key backup's version: it only grows. */
export const BackupVersion = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A server-made blob id: 16 random bytes, base64url (22 characters). */
export const BlobId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{22}$/, 'a blob id is the 22-character id that upload returned');

/**
 * The largest key backup kept in the blob store (sealed bytes): about 10 000 pinned contacts. A
 * backup up to MAX_INLINE_ENVELOPE_BYTES travels inline; a bigger one is uploaded like a file
 * (`upload`) and `put-backup` names it by this reference.
 */
export const MAX_BACKUP_BLOB_BYTES = 1024 * 1024;

/** A sealed key backup in the blob store: its upload's blob id, exact size and SHA-256. */
export const BackupBlobRef = z.object({
  blobId: BlobId,
  size: z.number().int().min(1).max(MAX_BACKUP_BLOB_BYTES),
  /** SHA-256 of the sealed bytes, standard base64. */
  digest: base64Of(32),
});
export type BackupBlobRef = z.infer<typeof BackupBlobRef>;

/** What `get-backup` answers: the sealed backup inline, or a presigned GET of its blob. */
export type GetBackupReply =
  | { version: number; backup: string }
  | {
      version: number;
      blob: { size: number; digest: string; url: string; urlExpiresAt: number };
    };

export const KeysFrame = z.discriminatedUnion('op', [
  /** Publish my bundle; identity keys, once set, are never silently replaced. */
  BaseFrame.extend({
    action: z.literal('keys'),
    op: z.literal('publish'),
    bundle: PublicBundleWire,
  }),
  /** Fetch another user's bundle. */
  BaseFrame.extend({ action: z.literal('keys'), op: z.literal('fetch'), userId: UserName }),
  /**
   * Store my key backup, sealed under my backup key (opaque to the server), as `version`, if the
   * stored one is still `replaces` (0: none yet); else CONFLICT naming the stored version. The
   * backup is either inline (`backup`) or, when bigger than an envelope, a completed upload of
   * mine named by `blob` (the server checks its owner, size and digest, and keeps it).
   */
  BaseFrame.extend({
    action: z.literal('keys'),
    op: z.literal('put-backup'),
    backup: Envelope.optional(),
    blob: BackupBlobRef.optional(),
    version: BackupVersion.min(1),
    replaces: BackupVersion,
  })
    .refine((frame) => frame.version > frame.replaces, {
      message: 'version must be greater than the version it replaces',
      path: ['version'],
    })
    .refine((frame) => (frame.backup === undefined) !== (frame.blob === undefined), {
      message: 'name the backup either inline (backup) or as an upload (blob), exactly one',
      path: ['backup'],
    }),
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

/** What `send` answers: stored in the recipient's inbox; `duplicate`: a retry of a stored message. */
export interface SendReply {
  messageId: string;
  duplicate: boolean;
  /** The recipient's live connections that got the push (0 is fine: the next page carries it). */
  deliveredTo: number;
}

/** What each `keys` operation answers (`get-backup`: GetBackupReply). */
export interface KeysPublishedReply {
  published: true;
}
export interface KeysFetchReply {
  bundle: PublicBundleWire;
}
export interface BackupStoredReply {
  stored: true;
  version: number;
}
