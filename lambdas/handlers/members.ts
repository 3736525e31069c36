import { MembersFrame } from '../../protocol/groups';
import { groupMembers } from '../core/groups';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('members', MembersFrame, groupMembers);
