import { SendFrame } from '../../protocol/commands';
import { send } from '../core/delivery';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('send', SendFrame, send);
