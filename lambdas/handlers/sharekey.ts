import { SharekeyFrame } from '../../protocol/groups';
import { shareKey } from '../core/groups';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('sharekey', SharekeyFrame, shareKey);
