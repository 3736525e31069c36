import { SendFrame } from '../../protocol/commands';
import { send } from '../core/delivery';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('send', SendFrame, (frame, context) =>
  send(serverDeps(), frame, context),
);
