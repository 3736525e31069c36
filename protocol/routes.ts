/**
 * The command routes of the WebSocket API: route name = command name = the frame's `action`.
 * This list is the single source for the CDK stack (one Lambda and one route each), the local
 * gateway and the clients. `$connect`, `$disconnect` and `$default` are API Gateway's own routes.
 */
export const COMMAND_ROUTES = [
  'ping',
  'signup',
  'signin',
  'resume',
  'signout',
  'devices',
  'password',
  'block',
  'keys',
  'send',
  'ack',
  'create',
  'join',
  'leave',
  'remove',
  'add',
  'list',
  'members',
  'sharekey',
  'sendgroup',
  'upload',
  'download',
  'sendfile',
  'sendgroupfile',
] as const;

/** The only routes an unbound connection may call. */
export const UNBOUND_ROUTES = [
  'signup',
  'signin',
  'resume',
] as const satisfies readonly CommandRoute[];

export type CommandRoute = (typeof COMMAND_ROUTES)[number];

export const SYSTEM_ROUTES = ['$connect', '$disconnect', '$default'] as const;

export type SystemRoute = (typeof SYSTEM_ROUTES)[number];

export type RouteKey = CommandRoute | SystemRoute;

export const ALL_ROUTES: readonly RouteKey[] = [...SYSTEM_ROUTES, ...COMMAND_ROUTES];

export function isCommandRoute(action: string): action is CommandRoute {
  return (COMMAND_ROUTES as readonly string[]).includes(action);
}

/** API Gateway's route selection expression: the route is the frame's `action` field. */
export const ROUTE_SELECTION_EXPRESSION = '$request.body.action';
