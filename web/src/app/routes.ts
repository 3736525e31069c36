/**
 * Routes of a small hash router: `#/`, `#/chat/<id>`, `#/groups`, `#/settings`. Hash routes work from any
 * static host (S3 behind CloudFront, the dev server, the service worker's offline shell) without
 * a rewrite rule for deep links.
 */
export type Route =
  | { readonly name: 'chats' }
  | { readonly name: 'chat'; readonly chatId: string }
  | { readonly name: 'groups' }
  | { readonly name: 'settings' }
  | { readonly name: 'not-found'; readonly path: string };

export type RouteName = Route['name'];

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  if (path === '/') return { name: 'chats' };
  if (path === '/groups') return { name: 'groups' };
  if (path === '/settings') return { name: 'settings' };
  const chat = /^\/chat\/([^/]+)$/.exec(path);
  if (chat?.[1]) {
    try {
      return { name: 'chat', chatId: decodeURIComponent(chat[1]) };
    } catch {
      return { name: 'not-found', path };
    }
  }
  return { name: 'not-found', path };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case 'chats':
      return '#/';
    case 'chat':
      return `#/chat/${encodeURIComponent(route.chatId)}`;
    case 'groups':
      return '#/groups';
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
