/**
 * Groups for a UI: create, join (creating when missing), leave, admin removal, list with member
 * counts, members, and group texts and files; plus the group events of the log (messages, epochs
 * with my key-share, joins and leaves). A group message whose epoch key has not arrived is kept
 * (`waiting/…`) and opened when it does. A send refused for a stale epoch (CONFLICT) catches up
 * and is sealed again under the new epoch with the same message id.
 */
import { fromBase64, toBase64 } from '../../protocol/bytes';
import { CryptoError } from '../../protocol/crypto-error';
import { makeAdminChange, makeLeave } from '../crypto/group-membership';
import { checkGroupName, type GroupSummaryWire } from '../../protocol/groups';
import { adminIds } from '../../protocol/group-statement';
import { artefactSubject, artefactToBase64 } from '../../protocol/group-artefacts';
import { currentEpoch, findEpoch, type GroupView } from '../crypto/group';
import { openGroup, sealGroup } from '../crypto/group-message';
import { seenKey } from '../crypto/seen-store';
import type { GroupBody } from '../crypto/envelope-payloads';
import {
  checkText,
  newMessageId,
  userIdOf,
  type SendFileOptions,
  type SentMessage,
} from './direct';
import { CipherlineError, ServerError, asCipherlineError } from './errors';
import { GroupEpochs } from './group-epochs';
import type { Clock, FileSource } from './ports';
import type { SessionParts } from './parts';
import type { CallServer, Json } from './rpc';
import { LONG_TEXT_MIME, bytesSource } from './transfers';

export interface GroupsDeps extends SessionParts {
  readonly call: CallServer<
    | 'create'
    | 'join'
    | 'leave'
    | 'remove'
    | 'add'
    | 'list'
    | 'members'
    | 'sharekey'
    | 'sendgroup'
    | 'sendgroupfile'
  >;
  /** Asks the server for what this device has not processed of a group's log yet. */
  readonly catchUp?: (groupId: string) => Promise<void>;
}

/** What `remove` and `add` resolve with. */
export interface MembershipChange {
  readonly groupId: string;
  readonly userId: string;
  /** Members of the group after the change, as the server counts them. */
  readonly memberCount: number;
}

export interface GroupMember {
  readonly userId: string;
  readonly admin: boolean;
}

const SEND_ATTEMPTS = 4;

/** The group id for a name typed by a user, or INVALID_INPUT saying why not. */
export function groupIdOf(name: string): string {
  const check = checkGroupName(name);
  if (!check.ok)
    throw new CipherlineError('INVALID_INPUT', `"${name}" is not a group name: ${check.reason}.`);
  return check.groupId;
}

export class Groups {
  readonly #epochs: GroupEpochs;
  /** Groups whose roster may differ from my current epoch (someone left or joined since). */
  readonly #rosterChanged = new Set<string>();

  constructor(private readonly deps: GroupsDeps) {
    this.#epochs = new GroupEpochs(deps);
  }

  // ------------------------------------------------------------------ commands

  /** Creates a group (CONFLICT when it exists) and its first epoch. */
  async create(name: string): Promise<{ readonly groupId: string }> {
    const groupId = groupIdOf(name);
    await this.deps.call('create', { groupId });
    await this.#epochs.createFirstEpoch(groupId);
    return { groupId };
  }

  /** Joins (creating the group when missing); the joiner makes the next epoch. */
  async join(
    name: string,
  ): Promise<{ readonly groupId: string; readonly created: boolean; readonly joined: boolean }> {
    const groupId = groupIdOf(name);
    const request = await this.#epochs.joinRequest(groupId);
    const reply = await this.deps.call(
      'join',
      { groupId, request: artefactToBase64(request) },
      { retry: true },
    );
    if (reply.created) {
      await this.#epochs.createFirstEpoch(groupId);
      return { groupId, created: true, joined: true };
    }
    const view = await this.#epochs.view(groupId);
    if (view.epochs.length === 0) await this.#joinEpoch(groupId);
    return { groupId, created: false, joined: reply.joined };
  }

  async #joinEpoch(groupId: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const roster = await this.#epochs.roster(groupId);
      try {
        await this.#epochs.makeJoinEpoch(
          roster,
          await this.#epochs.joinRequest(groupId, roster.statement),
        );
        return;
      } catch (error) {
        // The epoch moved on while I made mine (another joiner, a rotation): build on the new one.
        if (
          !(error instanceof CipherlineError && error.code === 'CONFLICT') ||
          attempt >= SEND_ATTEMPTS
        )
          throw error;
        await sleep(this.deps.clock, 300 * attempt);
      }
    }
  }

  async leave(name: string): Promise<{ readonly groupId: string; readonly memberCount: number }> {
    const groupId = groupIdOf(name);
    const request = await makeLeave({
      groupId,
      me: this.deps.keys.keys,
      now: this.deps.clock.now(),
    });
    const reply = await this.deps.call(
      'leave',
      { groupId, request: artefactToBase64(request) },
      { retry: true },
    );
    return { groupId, memberCount: reply.memberCount };
  }

  /**
   * An admin removes a member; the next epoch (made here at once) leaves them out, so they read
   * nothing sent after. `removed` false: they were not a member (any more: a retry); an epoch
   * that still names them is made all the same.
   */
  async remove(name: string, user: string): Promise<MembershipChange & { removed: boolean }> {
    const { groupId, userId, view } = await this.#asAdmin(name, user, 'remove members');
    const request = await makeAdminChange({
      kind: 'admin-remove',
      groupId,
      me: this.deps.keys.keys,
      target: userId,
      now: this.deps.clock.now(),
    });
    const reply = await this.deps.call(
      'remove',
      { groupId, userId, request: artefactToBase64(request) },
      { retry: true },
    );
    if (reply.removed)
      await this.#epochs.makeChangeEpoch(view, await this.#epochs.roster(groupId), [request]);
    else await this.#epochs.current(groupId, { checkRoster: true }); // carries a pending removal
    return { groupId, userId, removed: reply.removed, memberCount: reply.memberCount };
  }

  /**
   * An admin adds a user (the only way into a group closed to joins); the next epoch (made here
   * at once) carries the addition with a key-share for them. They read from that epoch on.
   */
  async add(name: string, user: string): Promise<MembershipChange & { added: boolean }> {
    const { groupId, userId } = await this.#asAdmin(name, user, 'add members');
    const request = await makeAdminChange({
      kind: 'admin-add',
      groupId,
      me: this.deps.keys.keys,
      target: userId,
      now: this.deps.clock.now(),
    });
    const reply = await this.deps.call(
      'add',
      { groupId, userId, request: artefactToBase64(request) },
      { retry: true },
    );
    await this.#epochs.current(groupId, { checkRoster: true }); // carries the pending addition
    return { groupId, userId, added: reply.added, memberCount: reply.memberCount };
  }

  async #asAdmin(name: string, user: string, what: string) {
    const groupId = groupIdOf(name);
    const userId = userIdOf(user);
    const view = await this.#epochs.current(groupId, { checkRoster: true });
    if (!adminIds(currentEpoch(view).statement).includes(this.deps.keys.keys.userId))
      throw new ServerError('FORBIDDEN', `Only an admin of ${groupId} can ${what}.`);
    return { groupId, userId, view };
  }

  /** An admin closes the group to joins (or opens it again): a change epoch saying so. From then
   * on only an admin's addition brings anyone in (the server answers a join FORBIDDEN). */
  async setClosed(name: string, closed: boolean): Promise<{ readonly groupId: string }> {
    const groupId = groupIdOf(name);
    const view = await this.#epochs.current(groupId, { checkRoster: true });
    if (!adminIds(currentEpoch(view).statement).includes(this.deps.keys.keys.userId))
      throw new ServerError(
        'FORBIDDEN',
        `Only an admin of ${groupId} can close it to new members.`,
      );
    if (currentEpoch(view).statement.closed === closed) return { groupId };
    const roster = await this.#epochs.roster(groupId);
    await this.#epochs.makeChangeEpoch(view, roster, [], { closed });
    return { groupId };
  }

  /** Members with admins, and whether the group is closed to joins, as my current epoch says. */
  async details(
    name: string,
  ): Promise<{ readonly members: GroupMember[]; readonly closed: boolean }> {
    const groupId = groupIdOf(name);
    const members = await this.members(groupId);
    const view = await this.#epochs.view(groupId);
    const closed = view.epochs.length > 0 && currentEpoch(view).statement.closed;
    return { members, closed };
  }

  /** Every group with its number of members (all pages). */
  async list(): Promise<GroupSummaryWire[]> {
    const groups: GroupSummaryWire[] = [];
    let cursor: string | undefined;
    do {
      const reply = await this.deps.call('list', { ...(cursor && { cursor }) });
      groups.push(...reply.groups);
      cursor = reply.next;
    } while (cursor);
    return groups.sort((a, b) => a.groupId.localeCompare(b.groupId));
  }

  /** The members as the server lists them, with the admins my current epoch names. */
  async members(name: string): Promise<GroupMember[]> {
    const groupId = groupIdOf(name);
    const roster = await this.#epochs.roster(groupId);
    const view = await this.#epochs.view(groupId);
    const admins = new Set(
      view.epochs.length > 0
        ? adminIds(currentEpoch(view).statement)
        : roster.statement
          ? adminIds(roster.statement)
          : [],
    );
    return [...roster.members.keys()]
      .sort()
      .map((userId) => ({ userId, admin: admins.has(userId) }));
  }

  async sendText(name: string, text: string): Promise<SentMessage> {
    const groupId = groupIdOf(name);
    const bytes = checkText(text);
    const messageId = globalThis.crypto.randomUUID();
    try {
      return await this.#send(groupId, messageId, { type: 'group-text', text });
    } catch (error) {
      if (!(error instanceof CryptoError) || error.code !== 'TOO_LARGE') throw error;
    }
    return this.#sendFile(groupId, bytesSource('message.txt', LONG_TEXT_MIME, bytes), messageId);
  }

  sendFile(name: string, source: FileSource, options: SendFileOptions = {}): Promise<SentMessage> {
    return this.#sendFile(groupIdOf(name), source, newMessageId(options));
  }

  async #sendFile(groupId: string, source: FileSource, messageId: string): Promise<SentMessage> {
    await this.#epochs.current(groupId, { checkRoster: this.#rosterChanged.has(groupId) });
    const file = await this.deps.transfers.upload(source, messageId);
    return this.#send(groupId, messageId, { type: 'group-file', file });
  }

  /** Seals under the current epoch and sends; on a stale epoch, catches up and seals again. */
  async #send(groupId: string, messageId: string, body: GroupBody): Promise<SentMessage> {
    // The group's log holds my own message too: this device has shown it already, so it is
    // marked seen before it can come back (another device of mine shows it, as sent from here).
    await this.deps.state.seen.add(
      seenKey(this.deps.keys.keys.userId, messageId),
      this.deps.clock.now(),
    );
    for (let attempt = 1; ; attempt++) {
      const view = await this.#epochs.current(groupId, {
        checkRoster: attempt > 1 || this.#rosterChanged.has(groupId),
      });
      this.#rosterChanged.delete(groupId);
      const epoch = currentEpoch(view).epoch;
      const sentAt = this.deps.clock.now();
      const envelope = toBase64(
        await sealGroup({ sender: this.deps.keys.keys, view, messageId, timestamp: sentAt, body }),
      );
      try {
        if (body.type === 'group-file')
          await this.deps.call(
            'sendgroupfile',
            { groupId, epoch, messageId, blobId: body.file.blobId, envelope },
            { retry: true },
          );
        else
          await this.deps.call(
            'sendgroup',
            { groupId, epoch, messageId, envelope },
            { retry: true },
          );
        return { messageId, sentAt };
      } catch (error) {
        if (
          !(error instanceof ServerError && error.code === 'CONFLICT') ||
          attempt >= SEND_ATTEMPTS
        )
          throw error;
        await this.deps.catchUp?.(groupId); // the new epoch's key-share is in the log
      }
    }
  }

  // ------------------------------------------------------------------ events of a group's log

  /** A group event from the inbox (paged or pushed). Never throws: failures are counted. */
  async receive(event: Json): Promise<void> {
    const groupId = typeof event.groupId === 'string' ? event.groupId : undefined;
    if (!groupId) return this.deps.unreadable.add('malformed', 'a group event without its group');
    try {
      switch (event.type) {
        case 'group-message':
          await this.#message(groupId, event);
          return;
        case 'key-share':
          return await this.#keyShare(groupId, event);
        case 'epoch':
          return await this.#epochWithoutShare(groupId, event);
        case 'member-joined':
        case 'member-left':
          return await this.#notice(groupId, event);
        default:
          return;
      }
    } catch (error) {
      this.deps.unreadable.addError(error);
    }
  }

  async #message(groupId: string, event: Json, fromWaiting = false): Promise<boolean> {
    const from = String(event.from);
    const messageId = String(event.messageId);
    const epoch = Number(event.epoch);
    const view = await this.#epochs.view(groupId);
    if (!findEpoch(view, epoch)) {
      if (!fromWaiting) {
        await this.deps.state.addWaiting(`${from.length}:${from}:${messageId}`, {
          groupId,
          epoch,
          event,
          keptAt: this.deps.clock.now(),
        });
        await this.deps.events.deliver({ type: 'waiting-for-key', groupId, messageId, from });
      }
      return false;
    }
    const opened = await openGroup({
      envelope: fromBase64(String(event.envelope)),
      view,
      sender: await this.deps.contacts.bundle(from),
      authenticatedSenderId: from,
      expectedType: ['group-text', 'group-file'],
      seen: this.deps.state.seen,
      now: this.deps.clock.now(),
    });
    const conversation = { kind: 'group', groupId } as const;
    const common = {
      conversation,
      from,
      messageId,
      sentAt: opened.header.timestamp,
      ...(opened.late && { late: true }),
    };
    if (opened.body.type === 'group-text')
      await this.deps.events.deliver({ type: 'message', ...common, text: opened.body.text });
    else await this.deps.transfers.receive({ ...common, file: opened.body.file });
    return true;
  }

  async #keyShare(groupId: string, event: Json): Promise<void> {
    const record = {
      epoch: Number(event.epoch),
      from: String(event.from),
      envelope: String(event.envelope),
      statement: String(event.statement),
    };
    let accepted;
    try {
      accepted = await this.#epochs.acceptKeyShare(groupId, record);
    } catch (error) {
      if (error instanceof CryptoError && error.code === 'UNKNOWN_PREKEY') {
        await this.deps.keys.refresh(); // sealed to a prekey another device of mine made
        accepted = await this.#epochs.acceptKeyShare(groupId, record);
      } else if (error instanceof CryptoError && error.code === 'FINGERPRINT_MISMATCH') {
        const member = (error as CryptoError & { member?: string }).member;
        if (member) this.deps.events.emit({ type: 'key-change', userId: member });
        throw error;
      } else throw error;
    }
    const change = accepted?.change;
    if (accepted && change && change.kind !== 'unchanged') {
      const leaves = accepted.statement.removals.filter((artefact) => artefact.kind === 'leave');
      const left = leaves.map(artefactSubject);
      await this.deps.events.deliver({
        type: 'group-change',
        groupId,
        epoch: record.epoch,
        by: change.by,
        joined: change.added,
        left,
        removed: change.removed.filter((userId) => !left.includes(userId)),
        rekeyed: change.kind === 'rekey',
      });
    }
    await this.#openWaiting(groupId);
  }

  /** An epoch became current without a key-share for me here: fetch it (else the next send rekeys). */
  async #epochWithoutShare(groupId: string, event: Json): Promise<void> {
    const view = await this.#epochs.view(groupId);
    if (findEpoch(view, Number(event.epoch))) return;
    await this.#epochs.fetchKeyShares(groupId);
    await this.#openWaiting(groupId);
  }

  async #notice(groupId: string, event: Json): Promise<void> {
    const userId = String(event.userId);
    const key = `notice:${String(event.messageId)}`;
    if (await this.deps.state.seen.has(key)) return;
    await this.deps.state.seen.add(
      key,
      typeof event.sentAt === 'number' ? event.sentAt : this.deps.clock.now(),
    );
    if (userId === this.deps.keys.keys.userId) return;
    this.#rosterChanged.add(groupId);
    await this.deps.events.deliver({
      type: 'member-notice',
      groupId,
      userId,
      change: event.type === 'member-joined' ? 'joined' : 'left',
      memberCount: Number(event.memberCount),
    });
  }

  async #openWaiting(groupId: string): Promise<void> {
    for (const { id, waiting } of await this.deps.state.waiting(groupId)) {
      try {
        if (!(await this.#message(groupId, waiting.event, true))) continue;
      } catch (error) {
        this.deps.unreadable.addError(asCipherlineError(error));
      }
      await this.deps.state.deleteWaiting(groupId, id);
    }
  }
}

const sleep = (clock: Clock, ms: number) =>
  new Promise<void>((resolve) => clock.setTimer(ms, resolve));

export type { GroupView };
