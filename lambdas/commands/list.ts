/** `list`: every group with its member count (a paginated Scan), or mine through the membership rows. */
import { ProtocolError } from '../../protocol/errors';
import { LIST_PAGE, ListFrame, type ListReply } from '../../protocol/groups';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { requireUser } from '../shared/sessions';

/** LIST: every group with its member count (a paginated Scan), or `mine` through the index. */
export async function listGroups(
  deps: ServerDeps,
  frame: ListFrame,
  context: RouteContext,
): Promise<ListReply> {
  const me = (await requireUser(deps, context)).userId;
  const limit = frame.limit ?? LIST_PAGE.default;
  if (!frame.mine) {
    const page = await deps.groups.listAll(limit, frame.cursor);
    if (page === 'bad-cursor') throw badCursor();
    return { groups: page.items, ...(page.next && { next: page.next }) };
  }
  const page = await deps.memberships.listMine(me, limit, frame.cursor);
  if (page === 'bad-cursor') throw badCursor();
  const counts = await deps.groups.counts(page.items);
  return {
    groups: page.items
      .filter((groupId) => counts.has(groupId))
      .map((groupId) => ({ groupId, memberCount: counts.get(groupId)! })),
    ...(page.next && { next: page.next }),
  };
}

const badCursor = () =>
  new ProtocolError(
    'BAD_REQUEST',
    'That page cursor is not valid for this listing: pass the `next` of the previous page, or none to start over.',
  );

export const handler = commandHandler('list', ListFrame, listGroups);
