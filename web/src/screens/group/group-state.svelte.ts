/**
 * A group's members screen: the members with the admins, whether it is closed to joins, and the
 * admins' removing and closing, and leaving. Each action reloads from the server.
 */
import type { GroupMember } from '../../../../client/session/groups';
import { asCipherlineError } from '../../../../client/session/errors';
import type { Session } from '../../app/session.svelte';

export class GroupState {
  members = $state<readonly GroupMember[] | undefined>();
  closed = $state(false);
  busy = $state(false);
  error = $state<string | undefined>();
  done = $state<string | undefined>();
  readonly #session: Session;
  readonly groupId: string;

  constructor(session: Session, groupId: string) {
    this.#session = session;
    this.groupId = groupId;
  }

  get amAdmin(): boolean {
    const me = this.#session.userId;
    return this.members?.some((m) => m.userId === me && m.admin) ?? false;
  }

  load(): Promise<void> {
    return this.#run(async () => {
      const details = await this.#session.client.groups.details(this.groupId);
      this.members = details.members;
      this.closed = details.closed;
    });
  }

  remove(userId: string): Promise<void> {
    return this.#run(async () => {
      await this.#session.client.groups.remove(this.groupId, userId);
      this.done = `Removed ${userId}.`;
      await this.load();
    });
  }

  close(): Promise<void> {
    return this.#run(async () => {
      await this.#session.client.groups.setClosed(this.groupId, true);
      this.done = `#${this.groupId} is closed to new members.`;
      await this.load();
    });
  }

  leave(): Promise<void> {
    return this.#run(async () => {
      const left = await this.#session.client.groups.leave(this.groupId);
      this.done = `You left #${left.groupId}.`;
      this.members = undefined;
    });
  }

  async #run(action: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = undefined;
    try {
      await action();
    } catch (error) {
      this.error = asCipherlineError(error).message;
    } finally {
      this.busy = false;
    }
  }
}
