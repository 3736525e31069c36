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
  $disconnect: spec('disconnect'),
  $default: spec('default'),
  ping: spec('ping', { pushes: true }),
};
