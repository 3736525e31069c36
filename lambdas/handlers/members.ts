import { MembersFrame } from '../../protocol/groups';
import { groupMembers } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('members', MembersFrame, groupMembers);
