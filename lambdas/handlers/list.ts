import { ListFrame } from '../../protocol/groups';
import { listGroups } from '../core/groups';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('list', ListFrame, (frame, context) =>
  listGroups(serverDeps(), frame, context),
);
