import { SigninFrame } from '../../protocol/commands';
import { signin } from '../core/accounts';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('signin', SigninFrame, signin);
