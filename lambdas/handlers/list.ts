import { ListFrame } from '../../protocol/groups';
import { listGroups } from '../core/groups';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('list', ListFrame, listGroups);
