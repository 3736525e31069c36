/** `send`: a 1:1 message, stored in the recipient's inbox, then pushed (shared/delivery.ts sendToUser). */
import { SendFrame } from '../../protocol/commands';
import { commandHandler } from '../runtime/command-handler';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { sendToUser } from '../shared/delivery';

export const send = (deps: ServerDeps, frame: SendFrame, context: RouteContext) =>
  sendToUser(deps, context, frame);

export const handler = commandHandler('send', SendFrame, send);
