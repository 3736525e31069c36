/**
 * What each command answers in its `ok` reply, by route: the server's command handlers must
 * return it (lambdas/runtime/command-handler.ts) and the clients read it (client/session's
 * `call`), so a field renamed on one side breaks the other's build. A route with several
 * operations answers one of its operations' replies.
 */
import type {
  DownloadReply,
  SendFileReply,
  SendGroupFileReply,
  UploadCompleteReply,
  UploadSignReply,
  UploadStartReply,
} from './blobs';
import type { AckReply } from './catch-up';
import type {
  BackupStoredReply,
  GetBackupReply,
  KeysFetchReply,
  KeysPublishedReply,
  SendReply,
  SessionReply,
} from './commands';
import type { PingReply } from './frames';
import type {
  AddReply,
  CreateReply,
  JoinReply,
  LeaveReply,
  ListReply,
  MembersReply,
  RemoveReply,
  SendGroupReply,
  SharekeyFetchReply,
  SharekeyStoreReply,
} from './groups';
import type { CommandRoute } from './routes';
import type {
  BlockReply,
  DeviceInviteReply,
  DeviceRemovedReply,
  DevicesListReply,
  PasswordChangedReply,
  SignoutReply,
} from './sessions';

export interface CommandReplies {
  ping: PingReply;
  signup: SessionReply;
  signin: SessionReply;
  resume: SessionReply;
  signout: SignoutReply;
  devices: DevicesListReply | DeviceRemovedReply | DeviceInviteReply;
  password: PasswordChangedReply;
  block: BlockReply;
  keys: KeysPublishedReply | KeysFetchReply | BackupStoredReply | GetBackupReply;
  send: SendReply;
  ack: AckReply;
  create: CreateReply;
  join: JoinReply;
  leave: LeaveReply;
  remove: RemoveReply;
  add: AddReply;
  list: ListReply;
  members: MembersReply;
  sharekey: SharekeyStoreReply | SharekeyFetchReply;
  sendgroup: SendGroupReply;
  upload: UploadStartReply | UploadSignReply | UploadCompleteReply;
  download: DownloadReply;
  sendfile: SendFileReply;
  sendgroupfile: SendGroupFileReply;
}

/** Compile-time completeness: every command route has a reply type, and nothing else does. */
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
export const EVERY_ROUTE_HAS_A_REPLY: Exactly<keyof CommandReplies, CommandRoute> = true;
