/**
 * Routes of a small hash router: `#/`, `#/chat/<id>` (`u:<user>` or `g:<group>`), `#/new` (a new
 * chat with a user), `#/groups`, `#/group/<id>` (members), `#/safety/<user>`, `#/settings`. Hash routes work from any
 * static host (S3 behind CloudFront, the dev server, the service worker's offline shell) without
 * a rewrite rule for deep links.
 */
export type Route =
  | { readonly name: 'chats' }
  | { readonly name: 'chat'; readonly chatId: string }
  | { readonly name: 'new' }
  | { readonly name: 'groups' }
  | { readonly name: 'group'; readonly groupId: string }
  | { readonly name: 'safety'; readonly userId: string }
  | { readonly name: 'settings' }
  | { readonly name: 'not-found'; readonly path: string };

export type RouteName = Route['name'];

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/') return { name: 'chats' };
  if (path === '/new') return { name: 'new' };
  if (path === '/groups') return { name: 'groups' };
  if (path === '/settings') return { name: 'settings' };
  const [, section, rawId, ...rest] = path.split('/');
  if (!rawId || rest.length > 0) return { name: 'not-found', path };
  let id: string;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    return { name: 'not-found', path };
  }
  if (section === 'chat') return { name: 'chat', chatId: id };
  if (section === 'group') return { name: 'group', groupId: id };
  if (section === 'safety') return { name: 'safety', userId: id };
  return { name: 'not-found', path };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case 'chats':
      return '#/';
    case 'chat':
      return `#/chat/${encodeURIComponent(route.chatId)}`;
    case 'new':
      return '#/new';
    case 'groups':
      return '#/groups';
    case 'group':
      return `#/group/${encodeURIComponent(route.groupId)}`;
    case 'safety':
      return `#/safety/${encodeURIComponent(route.userId)}`;
    case 'settings':
      return '#/settings';
    case 'not-found':
      return `#${route.path}`;
    default:
      return unreachable(route);
  }
}

export function unreachable(value: never): never {
  throw new Error(`Unhandled case: ${JSON.stringify(value)}`);
}
