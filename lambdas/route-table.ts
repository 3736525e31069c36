/**
 * What each route needs: its handler file and its grants (the format is ./route-grants.ts).
 * Keyed by every RouteKey, so adding a command to protocol/routes.ts without a handler here fails
 * to compile. The CDK stack makes one Lambda per entry with exactly these grants; the local stack
 * runs the same handler files and refuses every AWS call these grants do not cover.
 *
 * The grants are derived from what the code calls: each fragment below names the store methods
 * (lambdas/stores/) behind its actions, and a route is the union of the fragments its core uses.
 */
import type { RouteKey } from '../protocol/routes';
import type { TableName } from './tables';
import type { FunctionGrants, IndexAction, ItemAction, TableGrants } from './route-grants';

export interface RouteSpec extends FunctionGrants {
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
}

/** The union of table grants: every action any of them names, per table and per index. */
export function allOf(...parts: TableGrants[]): TableGrants {
  const merged: Record<string, { items: Set<ItemAction>; indexes: Map<string, Set<IndexAction>> }> =
    {};
  for (const part of parts)
    for (const [table, grant] of Object.entries(part)) {
      if (!grant) continue;
      const into = (merged[table] ??= { items: new Set(), indexes: new Map() });
      for (const action of grant.items) into.items.add(action);
      for (const [index, actions] of Object.entries(grant.indexes ?? {}) as [
        string,
        readonly IndexAction[],
      ][]) {
        const set = into.indexes.get(index) ?? new Set<IndexAction>();
        for (const action of actions) set.add(action);
        into.indexes.set(index, set);
      }
    }
  const tables: Record<string, unknown> = {};
  for (const [table, { items, indexes }] of Object.entries(merged))
    tables[table as TableName] = {
      items: [...items].sort(),
      ...(indexes.size > 0 && {
        indexes: Object.fromEntries([...indexes].map(([index, set]) => [index, [...set].sort()])),
      }),
    };
  return tables as TableGrants;
}

// Fragments, each named after the code path that needs it.

/** requireUser → ConnectionStore.get. */
const signedIn: TableGrants = { connections: { items: ['GetItem'] } };
/** assertWithinRate → RateLimitStore.increment (UpdateItem; DeleteItem resets an expired window). */
const rateLimited: TableGrants = { rateLimits: { items: ['UpdateItem', 'DeleteItem'] } };
/**
 * pushToUsers → MailboxStore.connectionsOf (BatchGetItem); after a 410, forgetConnection:
 * MailboxStore.removeConnections (UpdateItem) and ConnectionStore.remove.
 */
const pushesToUsers: TableGrants = {
  mailboxes: { items: ['BatchGetItem', 'UpdateItem'] },
  connections: { items: ['DeleteItem'] },
};
/** pushToConnection to one known connection; after a 410, forgetConnection as above. */
const pushesToConnection: TableGrants = {
  mailboxes: { items: ['UpdateItem'] },
  connections: { items: ['DeleteItem'] },
};
/** MailboxStore.ensure, for a user without a mailbox: the new mailbox (PutItem). */
const makesMailboxes: TableGrants = { mailboxes: { items: ['PutItem'] } };
/** claim and skip (lambdas/stores/message-claims.ts): the claim (PutItem, GetItem, UpdateItem). */
const claimsMessageIds: TableGrants = {
  messageClaims: { items: ['PutItem', 'GetItem', 'UpdateItem'] },
};
/**
 * appendToInbox: the number (MailboxStore.takeInboxSeq: UpdateItem), InboxStore.appendAt (the
 * item: PutItem; the lost claim's item: GetItem); an unknown mailbox asks UserStore.get.
 */
const appendsToInbox = allOf(
  { mailboxes: { items: ['UpdateItem'] }, inbox: { items: ['PutItem', 'GetItem'] } },
  { users: { items: ['GetItem'] } },
  makesMailboxes,
  claimsMessageIds,
);
/**
 * servePage: the device's cursor item (DeviceCursorStore get/save), its membership rows
 * (MembershipStore.memberships), the groups' heads (GroupStore.logHeads), the inbox and log
 * pages, my key-shares of the epochs in them (GroupEpochStore.keySharesOf).
 */
const servesPages: TableGrants = {
  // The reader's block list when a page holds an epoch (a blocked maker's key-share is withheld).
  users: { items: ['GetItem'] },
  deviceCursors: { items: ['GetItem', 'PutItem'] },
  members: { items: ['Query'] },
  groups: { items: ['BatchGetItem'] },
  inbox: { items: ['Query'] },
  groupLog: { items: ['Query'] },
  groupEpochs: { items: ['BatchGetItem'] },
};
/**
 * bindConnection: MailboxStore.addConnection (UpdateItem; a mailbox made on first use),
 * ConnectionStore.bind, closing surplus connections (removeConnections, remove), the first page.
 */
const bindsConnection = allOf(
  { mailboxes: { items: ['UpdateItem'] }, connections: { items: ['PutItem', 'DeleteItem'] } },
  makesMailboxes,
  servesPages,
);
/** openSession: SessionStore.create, then bindConnection. */
const opensSession = allOf({ sessions: { items: ['PutItem'] } }, bindsConnection);
/** requireGroup / requireGroupMember → GroupStore.get. */
const readsGroup: TableGrants = { groups: { items: ['GetItem'] } };
/**
 * memberBundles → UserStore.bundlesOf; membersReply also reads the current epoch and the pending
 * artefacts (GroupEpochStore.artefactsOf).
 */
const describesMembers: TableGrants = {
  users: { items: ['BatchGetItem'] },
  groupEpochs: { items: ['GetItem', 'BatchGetItem'] },
};
/**
 * freshArtefact: the signer's published key (UserStore.bundlesOf); GroupEpochStore.putArtefact, and
 * artefactsOf for the rejoin cool-down.
 */
const checksArtefacts: TableGrants = {
  users: { items: ['BatchGetItem'] },
  groupEpochs: { items: ['PutItem', 'BatchGetItem'] },
};
/** logMembership: the log entry (GroupLogStore.putEntry) and the row (MembershipStore.putMembership, markLeft). */
const logsMembership: TableGrants = {
  groupLog: { items: ['PutItem'] },
  members: { items: ['PutItem', 'UpdateItem'] },
};
/**
 * fanOutToGroup: the number (GroupStore.takeMessageSeq: UpdateItem; GetItem to say why not),
 * the message (GroupLogStore.appendMessage: PutItem, GetItem of a lost claim's entry, claims),
 * then pushes.
 */
const fansOutToGroup = allOf(
  { groups: { items: ['UpdateItem', 'GetItem'] }, groupLog: { items: ['PutItem', 'GetItem'] } },
  claimsMessageIds,
  pushesToUsers,
);
/** sendableBlob → BlobStore.get; BlobStore.grant → BatchWriteItem. */
const grantsBlobs: TableGrants = { blobs: { items: ['GetItem', 'BatchWriteItem'] } };
/**
 * sendToUser: the recipient (UserStore.get, with its block list), the rate limit, the inbox (or,
 * for a blocked sender, only InboxStore.recordDropped's marker: messageClaims PutItem), the pushes.
 */
const sendsToUser = allOf(
  signedIn,
  rateLimited,
  { users: { items: ['GetItem'] } },
  appendsToInbox,
  pushesToUsers,
);

/** reserveAttempt (lambdas/shared/signin-attempts.ts): getAttempts, swapAttempts, release, reset. */
const reservesAttempts: TableGrants = {
  rateLimits: { items: ['GetItem', 'UpdateItem', 'DeleteItem'] },
};
/** RateLimitStore.addWithin (sign-ups per address, upload bytes): the add, a read when refused. */
const countsWithinWindow: TableGrants = { rateLimits: { items: ['UpdateItem', 'GetItem'] } };
/** issueDeviceCredential → DeviceStore.signedIn (creates or touches the device record). */
const issuesDeviceCredential: TableGrants = { devices: { items: ['UpdateItem'] } };
/** bindConnection's second check (a session ended meanwhile) unbinds: ConnectionStore.remove. */
const bindsCheckedConnection = allOf(bindsConnection, {
  connections: { items: ['DeleteItem'] },
});
/**
 * disconnect (lambdas/shared/disconnect.ts): the user's connections from its mailbox (BatchGetItem)
 * and their rows (GetItem), each forgotten (out of the mailbox, row deleted) and closed through
 * @connections, the caller's own after its reply.
 */
const disconnectsDevices: TableGrants = {
  mailboxes: { items: ['BatchGetItem', 'UpdateItem'] },
  connections: { items: ['GetItem', 'DeleteItem'] },
};

const spec = (
  name: string,
  grants: Partial<FunctionGrants> = {},
  folder: 'commands' | 'background' = 'commands',
): RouteSpec => ({
  entry: `lambdas/${folder}/${name}.ts`,
  tables: {},
  pushes: false,
  closesConnections: false,
  schedulesUnboundChecks: false,
  readsDeviceCredentialKey: false,
  ...grants,
});

export const ROUTE_TABLE: Record<RouteKey, RouteSpec> = {
  $connect: spec('connect', { schedulesUnboundChecks: true }),
  // connectionClosed: the connection (ConnectionStore.get), out of its mailbox, its row deleted.
  $disconnect: spec('disconnect', {
    tables: {
      connections: { items: ['GetItem', 'DeleteItem'] },
      mailboxes: { items: ['UpdateItem'] },
    },
  }),
  $default: spec('default'),
  ping: spec('ping', { tables: allOf(signedIn, pushesToConnection), pushes: true }),
  // Binding closes the device's older connections and the user's oldest beyond the cap.
  signup: spec('signup', {
    // The sign-up window of the address, the user item and its mailbox, the device and its
    // credential, a session.
    tables: allOf(
      countsWithinWindow,
      { users: { items: ['PutItem'] }, mailboxes: { items: ['PutItem'] } },
      issuesDeviceCredential,
      opensSession,
    ),
    pushes: true,
    closesConnections: true,
    readsDeviceCredentialKey: true,
  }),
  signin: spec('signin', {
    // The user (and its hash again after binding); a presented credential's device or invite
    // (DeviceStore.get/getInvite), revoked after failures or used up (revokeCredential,
    // removeInvite); attempt reservations; then a session with a new credential.
    tables: allOf(
      { users: { items: ['GetItem'] } },
      { devices: { items: ['GetItem', 'UpdateItem', 'DeleteItem'] } },
      reservesAttempts,
      issuesDeviceCredential,
      opensSession,
      bindsCheckedConnection,
    ),
    pushes: true,
    closesConnections: true,
    readsDeviceCredentialKey: true,
  }),
  resume: spec('resume', {
    // The session (get, slide), its device (resumed, get), a checked bind.
    tables: allOf(
      { sessions: { items: ['GetItem', 'UpdateItem'] } },
      { devices: { items: ['GetItem', 'UpdateItem'] } },
      bindsCheckedConnection,
    ),
    pushes: true,
    closesConnections: true,
  }),
  // Sessions end through lambdas/shared/disconnect.ts.
  signout: spec('signout', {
    // SessionStore.revoke, DeviceStore.setCredential, then the session's connections.
    tables: allOf(
      signedIn,
      { sessions: { items: ['DeleteItem'] }, devices: { items: ['UpdateItem'] } },
      disconnectsDevices,
    ),
    closesConnections: true,
    schedulesUnboundChecks: true,
  }),
  devices: spec('devices', {
    // list (Query), remove (DeleteItem) and its connections, invite (rate, PutItem, the key).
    tables: allOf(
      signedIn,
      rateLimited,
      { devices: { items: ['Query', 'DeleteItem', 'PutItem'] } },
      disconnectsDevices,
    ),
    closesConnections: true,
    schedulesUnboundChecks: true,
    readsDeviceCredentialKey: true,
  }),
  password: spec('password', {
    // Its own attempt counter, the hash (get, conditional update), every other device's sessions
    // (list, endSessions) and connections, this device's new credential.
    tables: allOf(
      signedIn,
      reservesAttempts,
      { users: { items: ['GetItem', 'UpdateItem'] } },
      { devices: { items: ['Query', 'UpdateItem'] } },
      disconnectsDevices,
      issuesDeviceCredential,
    ),
    closesConnections: true,
    readsDeviceCredentialKey: true,
  }),
  // The block list lives in the blocker's user item (UserStore.block/unblock/get).
  block: spec('block', {
    tables: allOf(signedIn, rateLimited, { users: { items: ['GetItem', 'UpdateItem'] } }),
  }),
  // publish and put-backup update the user item (conditionally, reading it after a refusal);
  // fetch and get-backup read it. A backup named by its upload (lambdas/commands/keys.ts): the
  // upload's record (BlobStore.get, .remove) and bytes (read, then deleted), the kept copy
  // under backups/ (written, its GET signed, the replaced one deleted).
  keys: spec('keys', {
    tables: allOf(signedIn, {
      users: { items: ['GetItem', 'UpdateItem'] },
      blobs: { items: ['GetItem', 'DeleteItem'] },
    }),
    bucket: {
      objects: ['GetObject', 'DeleteObject'],
      backups: ['GetObject', 'PutObject', 'DeleteObject'],
    },
  }),
  send: spec('send', { tables: sendsToUser, pushes: true }),
  ack: spec('ack', {
    // The cursors and the next page; receipts: the inbox range passed, the senders' inboxes, the
    // mark on each receipted item (InboxStore.markReceipted), pushes to the senders.
    tables: allOf(
      signedIn,
      servesPages,
      { inbox: { items: ['Query', 'UpdateItem'] } },
      appendsToInbox,
      pushesToUsers,
    ),
    pushes: true,
  }),
  // The creator's join is the log's first entry; nobody else to tell.
  create: spec('create', {
    tables: allOf(signedIn, rateLimited, { groups: { items: ['PutItem'] } }, logsMembership),
  }),
  join: spec('join', {
    // The join request, create-or-addMember on the group item, the join entry and row (or a
    // repaired row), the reply, member-joined pushes.
    tables: allOf(
      signedIn,
      rateLimited,
      checksArtefacts,
      { groups: { items: ['PutItem', 'GetItem', 'UpdateItem'] } },
      logsMembership,
      describesMembers,
      pushesToUsers,
    ),
    pushes: true,
  }),
  leave: spec('leave', {
    tables: allOf(
      signedIn,
      checksArtefacts,
      { groups: { items: ['UpdateItem', 'GetItem'] } },
      logsMembership,
      pushesToUsers,
    ),
    pushes: true,
  }),
  // An admin's removal: as leave, for another member.
  remove: spec('remove', {
    tables: allOf(
      signedIn,
      checksArtefacts,
      { groups: { items: ['UpdateItem', 'GetItem'] } },
      logsMembership,
      pushesToUsers,
    ),
    pushes: true,
  }),
  // An admin's addition: as join, for a user it names (UserStore.get: the user exists).
  add: spec('add', {
    tables: allOf(
      signedIn,
      rateLimited,
      checksArtefacts,
      { users: { items: ['GetItem'] } },
      { groups: { items: ['GetItem', 'UpdateItem'] } },
      logsMembership,
      describesMembers,
      pushesToUsers,
    ),
    pushes: true,
  }),
  // listAll is the one Scan; listMine queries the membership rows, counts batch-reads groups.
  list: spec('list', {
    tables: allOf(signedIn, {
      groups: { items: ['Scan', 'BatchGetItem'] },
      members: { items: ['Query'] },
    }),
  }),
  members: spec('members', { tables: allOf(signedIn, readsGroup, describesMembers) }),
  sharekey: spec('sharekey', {
    // store: the previous statement (getEpoch), signers' keys (bundlesOf), the roster's
    // artefacts (artefactsOf), the claimed statement, claimEpoch, putKeyShare, the epoch's
    // shares (keySharesOfEpoch), completeEpoch, putEpoch, the epoch's log entry, pushes; fetch:
    // keySharesFor, getEpoch and my block list. Blockers of the maker (blockersOf).
    tables: allOf(
      signedIn,
      rateLimited,
      readsGroup,
      { users: { items: ['BatchGetItem', 'GetItem'] } },
      { groups: { items: ['UpdateItem'] } },
      { groupEpochs: { items: ['PutItem', 'GetItem', 'Query', 'BatchGetItem'] } },
      { groupLog: { items: ['PutItem'] } },
      pushesToUsers,
    ),
    pushes: true,
  }),
  sendgroup: spec('sendgroup', {
    tables: allOf(signedIn, rateLimited, fansOutToGroup),
    pushes: true,
  }),
  upload: spec('upload', {
    // BlobStore.create/get/markCompleted/remove; S3 multipart, presigned PUTs, HEAD, delete; the
    // daily byte quota.
    tables: allOf(signedIn, rateLimited, countsWithinWindow, {
      blobs: { items: ['PutItem', 'GetItem', 'UpdateItem', 'DeleteItem'] },
    }),
    bucket: { objects: ['PutObject', 'GetObject', 'DeleteObject'], listsBlobs: true },
  }),
  download: spec('download', {
    tables: allOf(signedIn, { blobs: { items: ['GetItem'] } }),
    bucket: { objects: ['GetObject'] },
  }),
  // The recipient is checked (UserStore.get) before the grant.
  sendfile: spec('sendfile', {
    tables: allOf(sendsToUser, { users: { items: ['GetItem'] } }, grantsBlobs),
    pushes: true,
  }),
  sendgroupfile: spec('sendgroupfile', {
    tables: allOf(signedIn, rateLimited, grantsBlobs, fansOutToGroup),
    pushes: true,
  }),
};

/** Functions that no WebSocket route invokes: each is fed by the queue its key names. */
export const BACKGROUND_FUNCTIONS = {
  /** Closes connections still unbound after the grace period (lambdas/background/reap-unbound.ts). */
  // closeIfUnbound reads the connection (ConnectionStore.get), then closes it through @connections.
  reapUnbound: spec(
    'reap-unbound',
    { tables: { connections: { items: ['GetItem'] } }, closesConnections: true },
    'background',
  ),
} as const satisfies Record<string, RouteSpec>;

/** Every function the stack makes: the routes, then the background functions. */
export const ALL_FUNCTION_SPECS: readonly (readonly [string, RouteSpec])[] = [
  ...Object.entries(ROUTE_TABLE),
  ...Object.entries(BACKGROUND_FUNCTIONS),
];
