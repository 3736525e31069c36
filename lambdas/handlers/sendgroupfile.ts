import { SendGroupFileFrame } from '../../protocol/blobs';
import { sendgroupfile } from '../core/blob-groups';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('sendgroupfile', SendGroupFileFrame, sendgroupfile);
