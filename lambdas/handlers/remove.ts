import { RemoveFrame } from '../../protocol/groups';
import { removeFromGroup } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('remove', RemoveFrame, removeFromGroup);
