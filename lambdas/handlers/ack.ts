import { AckFrame } from '../../protocol/commands';
import { ack } from '../core/ack';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('ack', AckFrame, (frame, context) =>
  ack(serverDeps(), frame, context),
);
