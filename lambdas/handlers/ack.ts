import { AckFrame } from '../../protocol/commands';
import { ack } from '../core/ack';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('ack', AckFrame, ack);
