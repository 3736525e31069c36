import { SigninFrame } from '../../protocol/commands';
import { signin } from '../core/accounts';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('signin', SigninFrame, signin);
