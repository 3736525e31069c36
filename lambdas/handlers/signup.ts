import { SignupFrame } from '../../protocol/commands';
import { signup } from '../core/accounts';
import { commandHandler } from '../runtime/command-handler';
import { deviceCredentialKey } from '../runtime/secrets';

export const handler = commandHandler('signup', SignupFrame, signup, { deviceCredentialKey });
