import { BlockFrame } from '../../protocol/sessions';
import { block } from '../core/blocks';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('block', BlockFrame, block);
