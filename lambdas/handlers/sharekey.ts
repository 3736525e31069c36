import { SharekeyFrame } from '../../protocol/groups';
import { shareKey } from '../core/groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('sharekey', SharekeyFrame, shareKey);
