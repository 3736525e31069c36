import { ResumeFrame } from '../../protocol/commands';
import { resume } from '../core/accounts';
import { commandHandler } from '../runtime/route';

export const handler = commandHandler('resume', ResumeFrame, resume);
