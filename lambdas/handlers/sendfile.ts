import { SendFileFrame } from '../../protocol/blobs';
import { sendfile } from '../core/blobs';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('sendfile', SendFileFrame, sendfile);
