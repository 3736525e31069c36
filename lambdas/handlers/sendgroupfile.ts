import { SendGroupFileFrame } from '../../protocol/blobs';
import { sendgroupfile } from '../core/blob-groups';
import { serverDeps } from '../runtime/deps';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('sendgroupfile', SendGroupFileFrame, (frame, context) =>
  sendgroupfile(serverDeps(), frame, context),
);
