import { KeysFrame } from '../../protocol/commands';
import { keys } from '../core/keys';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('keys', KeysFrame, keys);
