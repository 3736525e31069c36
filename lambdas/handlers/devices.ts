import { DevicesFrame } from '../../protocol/sessions';
import { devices } from '../core/devices';
import { commandHandler } from '../runtime/command-handler';
import { deviceCredentialKey } from '../runtime/secrets';
import { scheduleCloseAfterReply } from '../runtime/delay-queue';

export const handler = commandHandler('devices', DevicesFrame, devices, {
  scheduleClose: scheduleCloseAfterReply,
  deviceCredentialKey,
});
