/**
 * Every limit the server enforces, with its one production value. Handlers read them from their
 * invocation (lambdas/runtime/local-config.ts): in AWS that is always PRODUCTION_LIMITS, since
 * nothing the CDK stack sets can change them; only the local stack's own configuration
 * (`startLocalStack({serverLimits})`, `npm start -- --limits <json>`) hands tests and benchmarks
 * other values.
 */
import { MAX_GROUP_MEMBERS } from '../../protocol/group-statement';

const SECOND = 1000;

const MINUTE = 60 * SECOND;

const HOUR = 60 * MINUTE;

const DAY = 24 * HOUR;

const GIB = 1024 * 1024 * 1024;

/** Actions with a fixed one-minute window per user. */
export type RatedAction = 'send' | 'create' | 'join' | 'upload' | 'invite' | 'block' | 'keyShares';

export interface ServerLimits {
  /** Sign-ups per source address (IPv6 grouped by /64) in a fixed hour. */
  readonly signupsPerAddressPerHour: number;
  /** Sign-in attempts without a device credential: free per account, and per address (NATs). */
  readonly signinFreePerAccount: number;
  readonly signinFreePerAddress: number;
  /** Attempts judged by one device credential: free ones, and the failures that revoke it. */
  readonly signinFreePerCredential: number;
  readonly credentialRevokedAfterFailures: number;
  /** Past the free attempts each further one waits base × 2^n, capped; counts last this window. */
  readonly signinBaseDelayMs: number;
  readonly signinMaxDelayMs: number;
  readonly signinWindowMs: number;
  /** Per-user requests per minute. */
  readonly perMinute: Readonly<Record<RatedAction, number>>;
  /** Ciphertext bytes a user may announce with `upload {op:'start'}` per UTC day. */
  readonly uploadBytesPerDay: number;
  readonly groupMemberCap: number;
  /** A claimed epoch whose key-shares are not all stored within this may be overtaken. */
  readonly epochClaimMs: number;
  /** After a leave or removal, the same user may not join again for this long. */
  readonly groupRejoinCooldownMs: number;
  /** How long a connection may stay unbound before the server closes it. */
  readonly unboundGraceMs: number;
  /** A session ends this long after its last sign-in or resume, and never later than the cap. */
  readonly sessionIdleMs: number;
  readonly sessionMaxMs: number;
  readonly deviceCredentialLifetimeMs: number;
  /** A one-time credential from `devices {op:'invite'}` must be used within this. */
  readonly inviteLifetimeMs: number;
}

export const PRODUCTION_LIMITS: ServerLimits = {
  signupsPerAddressPerHour: 10,
  signinFreePerAccount: 5,
  signinFreePerAddress: 20,
  signinFreePerCredential: 5,
  credentialRevokedAfterFailures: 10,
  signinBaseDelayMs: SECOND,
  signinMaxDelayMs: 15 * MINUTE,
  signinWindowMs: HOUR,
  // Key-shares count one each (a replayed `sharekey` frame counts again): four full epochs of a
  // 256-member group a minute.
  perMinute: { send: 120, create: 10, join: 30, upload: 30, invite: 5, block: 30, keyShares: 1024 },
  uploadBytesPerDay: 10 * GIB,
  // The most members a signed statement can name (the group protocol's own bound).
  groupMemberCap: MAX_GROUP_MEMBERS,
  epochClaimMs: MINUTE,
  groupRejoinCooldownMs: MINUTE,
  unboundGraceMs: 10 * SECOND,
  sessionIdleMs: 30 * DAY,
  sessionMaxMs: 90 * DAY,
  deviceCredentialLifetimeMs: 180 * DAY,
  inviteLifetimeMs: DAY,
};

/** What the local stack may override: any limit, and any per-minute rate on its own. */
export type LimitOverrides = Partial<Omit<ServerLimits, 'perMinute'>> & {
  readonly perMinute?: Partial<Record<RatedAction, number>>;
};

export function withOverrides(overrides: LimitOverrides = {}): ServerLimits {
  return {
    ...PRODUCTION_LIMITS,
    ...overrides,
    perMinute: { ...PRODUCTION_LIMITS.perMinute, ...overrides.perMinute },
  };
}
