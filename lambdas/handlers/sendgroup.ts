import { SendGroupFrame } from '../../protocol/groups';
import { sendGroup } from '../core/groups';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('sendgroup', SendGroupFrame, (frame, context) =>
  sendGroup(serverDeps(), frame, context),
);
