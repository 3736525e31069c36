import { JoinFrame } from '../../protocol/groups';
import { joinGroup } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('join', JoinFrame, joinGroup);
