/**
 * The Groups screen's state: every group with its member count (the classic LIST), and creating
 * or joining one (JOIN creates a missing group first, as the classic command does).
 */
import type { GroupSummaryWire } from '../../../../protocol/groups';
import { asCipherlineError } from '../../../../client/session/errors';
import type { Session } from '../../app/session.svelte';

export class GroupsState {
  groups = $state<readonly GroupSummaryWire[] | undefined>();
  loading = $state(false);
  busy = $state(false);
  error = $state<string | undefined>();
  /** What the last create or join did, for the status line. */
  done = $state<string | undefined>();
  readonly #session: Session;

  constructor(session: Session) {
    this.#session = session;
  }

  async load(): Promise<void> {
    this.loading = true;
    try {
      this.groups = await this.#session.client.groups.list();
    } catch (error) {
      this.error = asCipherlineError(error).message;
    } finally {
      this.loading = false;
    }
  }

  create(name: string): Promise<string | undefined> {
    return this.#change(async () => {
      const { groupId } = await this.#session.client.groups.create(name);
      this.done = `Created #${groupId}.`;
      return groupId;
    });
  }

  join(name: string): Promise<string | undefined> {
    return this.#change(async () => {
      const joined = await this.#session.client.groups.join(name);
      this.done = joined.created
        ? `Created and joined #${joined.groupId}.`
        : joined.joined
          ? `Joined #${joined.groupId}.`
          : `You are already a member of #${joined.groupId}.`;
      return joined.groupId;
    });
  }

  /** Runs a change, lists the group's chat, and reloads the counts. */
  async #change(change: () => Promise<string>): Promise<string | undefined> {
    this.busy = true;
    this.error = undefined;
    this.done = undefined;
    try {
      const groupId = await change();
      await this.#session.ensureChat({ kind: 'group', groupId });
      await this.load();
      return groupId;
    } catch (error) {
      this.error = asCipherlineError(error).message;
      return undefined;
    } finally {
      this.busy = false;
    }
  }
}
