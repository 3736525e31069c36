import { SigninFrame } from '../../protocol/commands';
import { signin } from '../core/accounts';
import { commandHandler } from '../runtime/command-handler';
import { deviceCredentialKey } from '../runtime/secrets';

export const handler = commandHandler('signin', SigninFrame, signin, { deviceCredentialKey });
