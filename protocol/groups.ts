/**
 * Group frames and events: create, join, leave, list, members, sharekey, sendgroup. Group ids
 * are normalised names (the rule below); envelopes, key-shares and epoch statements are opaque
 * base64 the server stores and forwards, never opens.
 */
import { z } from 'zod';
import { Envelope, MessageId, UserName, type PublicBundleWire } from './commands';
import { BaseFrame } from './frames';
import { MAX_ARTEFACT_BASE64_CHARS } from './group-artefacts';
import { MAX_STATEMENT_BASE64_CHARS } from './group-statement';
import { normalizeName } from './username';

/**
 * Group name rule, shared by client and server: after trim, Unicode NFKC and lower-case, 1 to 64
 * characters of [a-z0-9_.-], starting with a letter or a digit. The normalised name is the
 * group's id, so "Friends" and "ｆｒｉｅｎｄｓ" are the same group.
 */
export const GROUP_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
export const MAX_GROUP_NAME_CHARS = 64;

export type GroupNameCheck =
  { readonly ok: true; readonly groupId: string } | { readonly ok: false; readonly reason: string };

export const normalizeGroupName = normalizeName;

/** Pure: the group id a name stands for, or why it is not a valid name. */
export function checkGroupName(name: string): GroupNameCheck {
  const groupId = normalizeGroupName(name);
  if (groupId.length < 1 || groupId.length > MAX_GROUP_NAME_CHARS)
    return { ok: false, reason: `a group name has 1 to ${MAX_GROUP_NAME_CHARS} characters` };
  if (!GROUP_NAME_PATTERN.test(groupId))
    return {
      ok: false,
      reason:
        'a group name uses only a-z, 0-9, "_", "." and "-", and starts with a letter or digit',
    };
  return { ok: true, groupId };
}

/** A group name on the wire; parses to the normalised group id. */
export const GroupName = z
  .string()
  .max(4 * MAX_GROUP_NAME_CHARS)
  .transform((name, context) => {
    const check = checkGroupName(name);
    if (check.ok) return check.groupId;
    context.addIssue({ code: 'custom', message: check.reason });
    return z.NEVER;
  });

/** Epoch numbers: 0 means "no epoch yet" (a new group before its creator's epoch 1). */
export const Epoch = z
  .number()
  .int()
  .min(1)
  .max(2 ** 32 - 1);

/** Page sizes of LIST. */
export const LIST_PAGE = { default: 50, max: 100 } as const;
/** An opaque LIST page token (base64url). */
export const PageCursor = z.base64url().min(1).max(1024);

/**
 * The signed group statement (protocol/group-statement.ts wire form): up to 256 members with a
 * fingerprint each and the artefacts of its changes, at most 24 KB of base64.
 */
export const Statement = z.base64().min(4).max(MAX_STATEMENT_BASE64_CHARS);
/** A signed join request, leave, admin removal or admin addition (protocol/group-artefacts.ts). */
export const Artefact = z.base64().min(4).max(MAX_ARTEFACT_BASE64_CHARS);

export const CreateFrame = BaseFrame.extend({ action: z.literal('create'), groupId: GroupName });
/** `request`: my signed join request (group-artefacts.ts), dated within minutes of the server. */
export const JoinFrame = BaseFrame.extend({
  action: z.literal('join'),
  groupId: GroupName,
  request: Artefact,
});
/** `request`: my signed leave. */
export const LeaveFrame = BaseFrame.extend({
  action: z.literal('leave'),
  groupId: GroupName,
  request: Artefact,
});
/** An admin removes a member: `request` is the admin's signed removal of `userId`. */
export const RemoveFrame = BaseFrame.extend({
  action: z.literal('remove'),
  groupId: GroupName,
  userId: UserName,
  request: Artefact,
});
/** An admin adds a user (the only way into a group closed to joins): its signed addition. */
export const AddFrame = BaseFrame.extend({
  action: z.literal('add'),
  groupId: GroupName,
  userId: UserName,
  request: Artefact,
});
export const MembersFrame = BaseFrame.extend({
  action: z.literal('members'),
  groupId: GroupName,
  /** The `next` of the previous page: members are listed by user id, a page at most 128 KB. */
  after: UserName.optional(),
});
export const ListFrame = BaseFrame.extend({
  action: z.literal('list'),
  /** Only the groups I am a member of (the per-user membership index). */
  mine: z.boolean().optional(),
  limit: z.number().int().min(1).max(LIST_PAGE.max).optional(),
  /** The `next` token of the previous page. */
  cursor: PageCursor.optional(),
});
export type CreateFrame = z.infer<typeof CreateFrame>;
export type JoinFrame = z.infer<typeof JoinFrame>;
export type LeaveFrame = z.infer<typeof LeaveFrame>;
export type RemoveFrame = z.infer<typeof RemoveFrame>;
export type AddFrame = z.infer<typeof AddFrame>;
export type MembersFrame = z.infer<typeof MembersFrame>;
export type ListFrame = z.infer<typeof ListFrame>;

/** One wrapped group key: a 1:1 key-share envelope for one member of the epoch. */
export const KeyShareWire = z.object({
  to: UserName,
  messageId: MessageId,
  envelope: Envelope,
});
export type KeyShareWire = z.infer<typeof KeyShareWire>;

/** Most members per frame is bounded by the 32 KB frame anyway; bigger epochs take several frames. */
export const MAX_KEY_SHARES_PER_FRAME = 256;

/** A statement's hash (SHA-256 of its signed bytes, group-statement.ts), base64. */
export const StatementHash = z.base64().length(44);

export const SharekeyFrame = z.discriminatedUnion('op', [
  /**
   * Store epoch `epoch` (= current + 1) with its signed statement and key-shares, or more
   * key-shares of the epoch I claimed: an epoch for a big group takes several frames; the first
   * carries the statement, later ones the statement or only its hash. The epoch becomes current
   * once every member's key-share is stored.
   */
  BaseFrame.extend({
    action: z.literal('sharekey'),
    op: z.literal('store'),
    groupId: GroupName,
    epoch: Epoch,
    statement: Statement.optional(),
    statementHash: StatementHash.optional(),
    keyShares: z.array(KeyShareWire).min(1).max(MAX_KEY_SHARES_PER_FRAME),
  }),
  /** My key-shares of this group, every epoch I was given one, oldest first, paged by epoch. */
  BaseFrame.extend({
    action: z.literal('sharekey'),
    op: z.literal('fetch'),
    groupId: GroupName,
    /** Only epochs after this one (the `next` of the previous page). */
    after: z
      .number()
      .int()
      .min(0)
      .max(2 ** 32 - 1)
      .optional(),
  }),
]);
export type SharekeyFrame = z.infer<typeof SharekeyFrame>;

export const SendGroupFrame = BaseFrame.extend({
  action: z.literal('sendgroup'),
  groupId: GroupName,
  epoch: Epoch,
  messageId: MessageId,
  envelope: Envelope,
});
export type SendGroupFrame = z.infer<typeof SendGroupFrame>;

/** What `sendgroup` answers: stored once in the group's log; `duplicate`: a retry. */
export interface SendGroupReply {
  groupId: string;
  epoch: number;
  messageId: string;
  /** The log's time for the message, the same for every member. */
  sentAt: number;
  duplicate: boolean;
  /** The members it is for (the sender's other devices read it from the log too). */
  recipients: number;
  /** Live connections that got the push. */
  deliveredTo: number;
}

/** A member with its published key bundle (absent until the user publishes one). */
export interface GroupMemberWire {
  userId: string;
  bundle?: PublicBundleWire;
  /** A pending addition (not in the current epoch yet): its join request or admin addition. */
  artefact?: string;
}

/** A pending removal: a user of the current epoch who left or was removed since, with the leave
 * or the admin's removal the next epoch must carry. */
export interface GroupRemovalWire {
  userId: string;
  artefact: string;
}

/** Replies. */
export interface GroupSummaryWire {
  groupId: string;
  memberCount: number;
}
export interface ListReply {
  groups: GroupSummaryWire[];
  /** Pass as `cursor` for the next page; absent on the last page. */
  next?: string;
}
export interface MembersReply {
  groupId: string;
  /** The current epoch (0 before the creator stored epoch 1). */
  epoch: number;
  /** The members the current epoch was made for (empty before epoch 1). */
  epochMembers: string[];
  /** The current epoch's signed statement: a joiner builds the next epoch on it (absent before epoch 1). */
  statement?: string;
  memberCount: number;
  /** The current admins (the creator before epoch 1) and whether joins are closed. */
  admins: string[];
  closed: boolean;
  /** Members by user id, as many as fit in one reply (bundles make a full group about 130 KB). */
  members: GroupMemberWire[];
  /** Pending removals in the same user-id range as `members`. */
  removals: GroupRemovalWire[];
  /** Present when more members follow: pass it as `after` to `members`. */
  next?: string;
}
/** What `create` answers: I am the only member, before epoch 1. */
export interface CreateReply {
  groupId: string;
  created: true;
  epoch: 0;
  memberCount: 1;
}
/** What `leave` answers; `left` false: I was not a member (a retry). */
export interface LeaveReply {
  groupId: string;
  left: boolean;
  memberCount: number;
  /** Members told of the leave by a push (when `left`). */
  notified?: number;
}
/** What an admin's `remove` answers; `removed` false: not a member (any more: a retry). */
export interface RemoveReply {
  groupId: string;
  removed: boolean;
  memberCount: number;
}
/** What an admin's `add` answers; `added` false: a member already (a retry). */
export interface AddReply {
  groupId: string;
  added: boolean;
  memberCount: number;
}
export interface JoinReply extends MembersReply {
  /** True for exactly one client: the one that made the group, and so makes epoch 1. */
  created: boolean;
  /** False when I was a member already (nothing changed). */
  joined: boolean;
}
/** What `sharekey` `store` answers: `current` once every key-share of the epoch is stored. */
export interface SharekeyStoreReply {
  groupId: string;
  epoch: number;
  /** The members this epoch is made for: each needs one key-share. */
  epochMembers: string[];
  current: boolean;
  /** Key-shares this frame added (0 for a retry). */
  stored: number;
  /** Members whose key-share is still missing (empty once current). */
  missing: string[];
  /** Live connections told of the new epoch. */
  deliveredTo: number;
}
/** What `sharekey` `fetch` answers: my key-shares from `after` on; `next` when more follow. */
export interface SharekeyFetchReply {
  groupId: string;
  /** The group's current epoch. */
  epoch: number;
  keyShares: KeyShareRecordWire[];
  next?: number;
}
export interface KeyShareRecordWire {
  epoch: number;
  from: string;
  messageId: string;
  envelope: string;
  statement: string;
}
