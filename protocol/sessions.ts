/**
 * Frames of the session commands: `signout`, `devices` (list, remove, invite), `password` and
 * `block`. Every one needs a signed-in connection.
 */
import { z } from 'zod';
import { AuthKey, DeviceId, UserName } from './commands';
import { BaseFrame } from './frames';

/** Ends this session: its token and this device's credential are revoked, the connection closes. */
export const SignoutFrame = BaseFrame.extend({ action: z.literal('signout') });
export interface SignoutReply {
  signedOut: true;
}
export type SignoutFrame = z.infer<typeof SignoutFrame>;

export const DevicesFrame = z.discriminatedUnion('op', [
  /** The account's devices. */
  BaseFrame.extend({ action: z.literal('devices'), op: z.literal('list') }),
  /** Removes a device: its sessions and credential end, its connections close. */
  BaseFrame.extend({ action: z.literal('devices'), op: z.literal('remove'), deviceId: DeviceId }),
  /** A one-time device credential for a new device, so it is not judged with strangers. */
  BaseFrame.extend({ action: z.literal('devices'), op: z.literal('invite') }),
]);
export type DevicesFrame = z.infer<typeof DevicesFrame>;

/**
 * Changes the auth key (a new password). Every other device's sessions and credentials end;
 * afterwards the client re-seals its key backup under the new backup key (`keys put-backup`).
 * A retry after a lost reply sends the new key as both.
 */
export const PasswordFrame = BaseFrame.extend({
  action: z.literal('password'),
  authKey: AuthKey,
  newAuthKey: AuthKey,
});
export type PasswordFrame = z.infer<typeof PasswordFrame>;

/** The server drops a blocked user's 1:1 messages and files to the blocker, silently. */
export const BlockFrame = z.discriminatedUnion('op', [
  BaseFrame.extend({ action: z.literal('block'), op: z.literal('add'), userId: UserName }),
  BaseFrame.extend({ action: z.literal('block'), op: z.literal('remove'), userId: UserName }),
  BaseFrame.extend({ action: z.literal('block'), op: z.literal('list') }),
]);
export type BlockFrame = z.infer<typeof BlockFrame>;

export interface DeviceWire {
  deviceId: string;
  createdAt: number;
  /** The last signin or resume. */
  lastSeenAt: number;
  /** The device of the connection that asked. */
  current: boolean;
}

export interface DevicesListReply {
  devices: DeviceWire[];
}
export interface DeviceRemovedReply {
  removed: string;
  /** Its connections that were closed. */
  disconnected: number;
}
export interface DeviceInviteReply {
  /** Give this to the new device; it presents it as `deviceCredential` in its first signin. */
  credential: string;
  expiresAt: number;
}
export interface PasswordChangedReply {
  changed: true;
  /** This device's new credential (all others are revoked). */
  deviceCredential: string;
  /** Connections of other devices that were closed. */
  disconnected: number;
}
export interface BlockReply {
  /** Everyone I block, sorted. */
  blocked: string[];
}
