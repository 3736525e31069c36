import { AddFrame } from '../../protocol/groups';
import { addToGroupByAdmin } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('add', AddFrame, addToGroupByAdmin);
