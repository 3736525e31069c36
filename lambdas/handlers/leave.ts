import { LeaveFrame } from '../../protocol/groups';
import { leaveGroup } from '../core/groups';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('leave', LeaveFrame, (frame, context) =>
  leaveGroup(serverDeps(), frame, context),
);
