import { SendFrame } from '../../protocol/commands';
import { send } from '../core/delivery';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('send', SendFrame, send);
