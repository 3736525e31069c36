import { SignupFrame } from '../../protocol/commands';
import { signup } from '../core/accounts';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('signup', SignupFrame, signup);
