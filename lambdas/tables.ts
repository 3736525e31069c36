/**
 * Every table and the blob bucket, collected from the stores that own them
 * (lambdas/stores/<aggregate>.ts declares its table beside the code that reads and writes it).
 * The CDK stack builds them from here, the local stack creates them in dynalite and s3rver from
 * here, and the route table's grants name them by these keys. Plain data: no CDK import.
 */
import { BLOB_BUCKET } from './stores/blob-objects';
import { blobsTable } from './stores/blobs';
import { connectionsTable } from './stores/connections';
import { deviceCursorsTable } from './stores/device-cursors';
import { devicesTable } from './stores/devices';
import { groupEpochsTable } from './stores/group-epochs';
import { groupLogTable } from './stores/group-log';
import { groupsTable } from './stores/groups';
import { inboxTable } from './stores/inbox';
import { mailboxesTable } from './stores/mailboxes';
import { membersTable } from './stores/memberships';
import { messageClaimsTable } from './stores/message-claims';
import { rateLimitsTable } from './stores/rate-limits';
import { sessionsTable } from './stores/sessions';
import type { TableDefinition } from './stores/table-definition';
import { usersTable } from './stores/users';

export { BLOB_BUCKET };

export const TABLES = {
  users: usersTable,
  devices: devicesTable,
  sessions: sessionsTable,
  mailboxes: mailboxesTable,
  connections: connectionsTable,
  groups: groupsTable,
  members: membersTable,
  groupEpochs: groupEpochsTable,
  groupLog: groupLogTable,
  inbox: inboxTable,
  blobs: blobsTable,
  messageClaims: messageClaimsTable,
  deviceCursors: deviceCursorsTable,
  rateLimits: rateLimitsTable,
} as const satisfies Record<string, TableDefinition>;

export type TableName = keyof typeof TABLES;

export const TABLE_NAMES = Object.keys(TABLES) as TableName[];
