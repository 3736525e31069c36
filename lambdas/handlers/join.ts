import { JoinFrame } from '../../protocol/groups';
import { joinGroup } from '../core/groups';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('join', JoinFrame, (frame, context) =>
  joinGroup(serverDeps(), frame, context),
);
