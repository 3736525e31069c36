import { CreateFrame } from '../../protocol/groups';
import { createGroup } from '../core/groups';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('create', CreateFrame, (frame, context) =>
  createGroup(serverDeps(), frame, context),
);
