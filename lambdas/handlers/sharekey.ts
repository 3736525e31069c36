import { SharekeyFrame } from '../../protocol/groups';
import { shareKey } from '../core/groups';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('sharekey', SharekeyFrame, (frame, context) =>
  shareKey(serverDeps(), frame, context),
);
