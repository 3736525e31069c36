import { JoinFrame } from '../../protocol/groups';
import { joinGroup } from '../core/groups';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('join', JoinFrame, joinGroup);
