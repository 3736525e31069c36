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
      const published = await deps.users.publishBundle(me.userId, frame.bundle);
      if (!published) {
        throw new ProtocolError(
          'CONFLICT',
          'Your identity keys differ from the ones on record; they are never replaced silently. Restore your key backup.',
        );
      }
      return { published: true };
    }
    case 'fetch': {
      const user = await deps.users.get(frame.userId.toLowerCase());
      if (!user?.bundle)
        throw new ProtocolError('NOT_FOUND', `No keys are published for "${frame.userId}".`);
      return { bundle: user.bundle };
    }
    case 'put-backup':
      await deps.users.putBackup(me.userId, frame.backup);
      return { stored: true };
    case 'get-backup': {
      const user = await deps.users.get(me.userId);
      if (!user?.backup)
        throw new ProtocolError('NOT_FOUND', 'No key backup is stored for this account.');
      return { backup: user.backup };
    }
    default: {
      const unknownOp: never = frame;
      throw new ProtocolError('BAD_REQUEST', `Unknown keys operation ${String(unknownOp)}.`);
    }
  }
}
