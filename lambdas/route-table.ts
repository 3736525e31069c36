/**
 * What each route needs: its handler file and its grants. Keyed by every RouteKey, so adding a
 * command to protocol/routes.ts without a handler here fails to compile. The CDK stack makes one
 * Lambda per entry with exactly these grants; the local gateway imports the same handler files.
 */
import type { RouteKey } from '../protocol/routes';
import { BLOB_BUCKET, TABLES, type TableName } from '../infra/resources';

export interface RouteSpec {
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  /** Tables the function reads only, and tables it reads and writes. */
  readonly reads: readonly TableName[];
  readonly writes: readonly TableName[];
  /** Blob bucket access, if any. */
  readonly bucket?: 'read' | 'read-write';
  /** Whether the function pushes to (or closes) connections through @connections. */
  readonly pushes: boolean;
  /** Whether it schedules unbound-connection checks on the delay queue. */
  readonly schedulesUnboundChecks?: boolean;
}

const spec = (name: string, rest: Partial<Omit<RouteSpec, 'entry'>> = {}): RouteSpec => ({
  entry: `lambdas/handlers/${name}.ts`,
  reads: [],
  writes: [],
  pushes: false,
  ...rest,
});

export const ROUTE_TABLE: Record<RouteKey, RouteSpec> = {
  $connect: spec('connect', { schedulesUnboundChecks: true }),
  $disconnect: spec('disconnect', { writes: ['connections'] }),
  $default: spec('default'),
  ping: spec('ping', { reads: ['connections'], pushes: true }),
  signup: spec('signup', {
    reads: ['inbox', 'groupKeys'],
    writes: ['users', 'sessions', 'connections', 'counters'],
    pushes: true,
  }),
  signin: spec('signin', {
    reads: ['users', 'inbox', 'groupKeys'],
    writes: ['sessions', 'connections', 'counters'],
    pushes: true,
  }),
  resume: spec('resume', {
    reads: ['sessions', 'counters', 'inbox', 'groupKeys'],
    writes: ['connections'],
    pushes: true,
  }),
  keys: spec('keys', { reads: ['connections'], writes: ['users'] }),
  send: spec('send', {
    reads: ['users'],
    writes: ['connections', 'inbox', 'counters'],
    pushes: true,
  }),
  ack: spec('ack', {
    reads: ['groupKeys'],
    // Receipts go into the senders' inboxes; a gone connection's row is deleted.
    writes: ['connections', 'inbox', 'counters'],
    pushes: true,
  }),
  // Groups (lambdas/core/groups.ts). Catch-up reads groupKeys: group message bodies and statements.
  create: spec('create', { reads: ['connections'], writes: ['groups', 'members', 'counters'] }),
  join: spec('join', {
    reads: ['users', 'groupKeys'],
    writes: ['groups', 'members', 'counters', 'connections'],
    pushes: true,
  }),
  leave: spec('leave', { writes: ['groups', 'members', 'connections'], pushes: true }),
  list: spec('list', { reads: ['connections', 'groups', 'members'] }),
  members: spec('members', { reads: ['connections', 'groups', 'users', 'groupKeys'] }),
  sharekey: spec('sharekey', {
    writes: ['groups', 'groupKeys', 'inbox', 'counters', 'connections'],
    pushes: true,
  }),
  sendgroup: spec('sendgroup', {
    reads: ['groups'],
    writes: ['groupKeys', 'inbox', 'counters', 'connections'],
    pushes: true,
  }),
  upload: spec('upload', {
    reads: ['connections'],
    writes: ['blobs', 'counters'],
    bucket: 'read-write',
  }),
  download: spec('download', { reads: ['connections', 'blobs'], bucket: 'read' }),
  sendfile: spec('sendfile', {
    reads: ['users'],
    writes: ['connections', 'inbox', 'counters', 'blobs'],
    pushes: true,
  }),
  sendgroupfile: spec('sendgroupfile', {
    reads: ['groups'],
    writes: ['groupKeys', 'inbox', 'counters', 'connections', 'blobs'],
    pushes: true,
  }),
};

/** Functions that no WebSocket route invokes: each is fed by the queue its key names. */
export const BACKGROUND_FUNCTIONS = {
  /** Closes connections still unbound after the grace period (lambdas/core/unbound.ts). */
  reapUnbound: spec('reap-unbound', { reads: ['connections'], pushes: true }),
} as const satisfies Record<string, RouteSpec>;

/** The table and bucket variables a function with this spec is given (see lambdas/runtime/env.ts). */
export function grantedEnvironmentNames(spec: RouteSpec): ReadonlySet<string> {
  const names = new Set<string>(
    [...spec.reads, ...spec.writes].map((table) => TABLES[table].envVar),
  );
  if (spec.bucket) names.add(BLOB_BUCKET.envVar);
  return names;
}
