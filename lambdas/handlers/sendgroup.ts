import { SendGroupFrame } from '../../protocol/groups';
import { sendGroup } from '../core/groups';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('sendgroup', SendGroupFrame, sendGroup);
