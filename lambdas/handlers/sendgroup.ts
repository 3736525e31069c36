import { SendGroupFrame } from '../../protocol/groups';
import { sendGroup } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('sendgroup', SendGroupFrame, sendGroup);
