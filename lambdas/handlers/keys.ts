import { KeysFrame } from '../../protocol/commands';
import { keys } from '../core/keys';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('keys', KeysFrame, (frame, context) =>
  keys(serverDeps(), frame, context),
);
