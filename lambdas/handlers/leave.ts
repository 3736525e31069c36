import { LeaveFrame } from '../../protocol/groups';
import { leaveGroup } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('leave', LeaveFrame, leaveGroup);
