import { AckFrame } from '../../protocol/catch-up';
import { ack } from '../core/ack';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('ack', AckFrame, ack);
