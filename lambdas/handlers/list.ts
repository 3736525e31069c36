import { ListFrame } from '../../protocol/groups';
import { listGroups } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('list', ListFrame, listGroups);
