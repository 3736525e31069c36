import { MembersFrame } from '../../protocol/groups';
import { groupMembers } from '../core/groups';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('members', MembersFrame, (frame, context) =>
  groupMembers(serverDeps(), frame, context),
);
