/**
 * What each route needs: its handler file and its grants. Keyed by every RouteKey, so adding a
 * command to protocol/routes.ts without a handler here fails to compile. The CDK stack makes one
 * Lambda per entry with exactly these grants; the local gateway imports the same handler files.
 */
import type { RouteKey } from '../protocol/routes';
import type { TableName } from '../infra/resources';

export interface RouteSpec {
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  /** Tables the function reads only, and tables it reads and writes. */
  readonly reads: readonly TableName[];
  readonly writes: readonly TableName[];
  /** Blob bucket access, if any. */
  readonly bucket?: 'read' | 'read-write';
  /** Whether the function pushes to connections through @connections. */
  readonly pushes: boolean;
}

const spec = (name: string, rest: Partial<Omit<RouteSpec, 'entry'>> = {}): RouteSpec => ({
  entry: `lambdas/handlers/${name}.ts`,
  reads: [],
  writes: [],
  pushes: false,
  ...rest,
});

export const ROUTE_TABLE: Record<RouteKey, RouteSpec> = {
  $connect: spec('connect'),
  $disconnect: spec('disconnect', { writes: ['connections'] }),
  $default: spec('default'),
  ping: spec('ping', { pushes: true }),
  signup: spec('signup', {
    reads: ['inbox'],
    writes: ['users', 'sessions', 'connections', 'counters'],
    pushes: true,
  }),
  signin: spec('signin', {
    reads: ['users', 'inbox'],
    writes: ['sessions', 'connections', 'counters'],
    pushes: true,
  }),
  resume: spec('resume', {
    reads: ['sessions', 'counters', 'inbox'],
    writes: ['connections'],
    pushes: true,
  }),
  keys: spec('keys', { reads: ['connections'], writes: ['users'] }),
  send: spec('send', {
    reads: ['users'],
    writes: ['connections', 'inbox', 'counters'],
    pushes: true,
  }),
  ack: spec('ack', { reads: ['connections', 'inbox'], writes: ['counters'], pushes: true }),
};
