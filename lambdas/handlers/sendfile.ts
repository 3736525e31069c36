import { SendFileFrame } from '../../protocol/blobs';
import { sendfile } from '../core/blobs';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('sendfile', SendFileFrame, sendfile);
