import { SignupFrame } from '../../protocol/commands';
import { signup } from '../core/accounts';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('signup', SignupFrame, (frame, context) =>
  signup(serverDeps(), frame, context),
);
