import { ResumeFrame } from '../../protocol/commands';
import { resume } from '../core/accounts';
import { commandHandler } from '../runtime/command-handler';

export const handler = commandHandler('resume', ResumeFrame, resume);
