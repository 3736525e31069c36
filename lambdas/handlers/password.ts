import { PasswordFrame } from '../../protocol/sessions';
import { changePassword } from '../core/password';
import { commandHandler } from '../runtime/command-handler';
import { deviceCredentialKey } from '../runtime/secrets';

export const handler = commandHandler('password', PasswordFrame, changePassword, {
  deviceCredentialKey,
});
