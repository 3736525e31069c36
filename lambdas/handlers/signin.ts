import { SigninFrame } from '../../protocol/commands';
import { signin } from '../core/accounts';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('signin', SigninFrame, (frame, context) =>
  signin(serverDeps(), frame, context),
);
