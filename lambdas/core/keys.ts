/** Public key bundles and the sealed key backup (./backups.ts): opaque to the server, bound to their owner. */
import type { KeysFrame } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
import { getBackup, putBackup } from './backups';
import { requireUser } from './session';

export async function keys(
  deps: ServerDeps,
  frame: KeysFrame,
  context: RouteContext,
): Promise<object> {
  const me = await requireUser(deps, context);
  switch (frame.op) {
    case 'publish': {
      if (frame.bundle.userId !== me.userId)
        throw new ProtocolError('FORBIDDEN', 'You can only publish your own key bundle.');
      const outcome = await deps.users.publishBundle(me.userId, frame.bundle);
      switch (outcome) {
        case 'published':
          return { published: true };
        case 'identity-differs':
          throw new ProtocolError(
            'CONFLICT',
            'Your identity keys differ from the ones on record; they are never replaced silently. Restore your key backup.',
          );
        case 'prekey-not-newer':
          // Two devices of one account rotated at once: the other one's prekey is published.
          throw new ProtocolError(
            'CONFLICT',
            'A signed prekey at least as new as this one is published already (another of your devices rotated). Drop yours and restore the key backup.',
          );
        default: {
          const unknownOutcome: never = outcome;
          throw new Error(`Unknown publish outcome ${String(unknownOutcome)}`);
        }
      }
    }
    case 'fetch': {
      const user = await deps.users.get(frame.userId);
      if (!user?.bundle)
        throw new ProtocolError('NOT_FOUND', `No keys are published for "${frame.userId}".`);
      return { bundle: user.bundle };
    }
    case 'put-backup':
      return putBackup(deps, me.userId, frame);
    case 'get-backup':
      return getBackup(deps, me.userId);
    default: {
      const unknownOp: never = frame;
      throw new ProtocolError('BAD_REQUEST', `Unknown keys operation ${String(unknownOp)}.`);
    }
  }
}
