import { SignoutFrame } from '../../protocol/sessions';
import { signout } from '../core/devices';
import { commandHandler } from '../runtime/command-handler';
import { scheduleCloseAfterReply } from '../runtime/delay-queue';

export const handler = commandHandler('signout', SignoutFrame, signout, {
  scheduleClose: scheduleCloseAfterReply,
});
