import { UploadFrame } from '../../protocol/blobs';
import { upload } from '../core/blobs';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('upload', UploadFrame, upload);
