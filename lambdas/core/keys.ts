/** Public key bundles and the sealed key backup: opaque to the server, bound to their owner. */
import type { KeysFrame } from '../../protocol/commands';
import { ProtocolError } from '../../protocol/errors';
import type { ServerDeps } from '../runtime/deps';
import type { RouteContext } from '../runtime/route';
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
    case 'put-backup': {
      const result = await deps.users.putBackup(
        me.userId,
        frame.backup,
        frame.version,
        frame.replaces,
      );
      if (!result.stored)
        throw new ProtocolError(
          'CONFLICT',
          `The stored key backup is version ${result.currentVersion}, not ${frame.replaces}: another device wrote it. Fetch it (get-backup), merge, and store a version above ${result.currentVersion} replacing ${result.currentVersion}.`,
        );
      return { stored: true, version: frame.version };
    }
    case 'get-backup': {
      const user = await deps.users.get(me.userId);
      if (!user?.backup)
        throw new ProtocolError('NOT_FOUND', 'No key backup is stored for this account.');
      return { backup: user.backup, version: user.backupVersion ?? 0 };
    }
    default: {
      const unknownOp: never = frame;
      throw new ProtocolError('BAD_REQUEST', `Unknown keys operation ${String(unknownOp)}.`);
    }
  }
}
