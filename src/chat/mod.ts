/**
 * The chat core, protocol-neutral: members, channels, the hub that fans events out through
 * per-channel streams and per-client send queues, the naming rules, and where data lives.
 * Transports (IRC over TCP/TLS/WebSocket, the shared-memory bridge) sit on top of it.
 *
 * @example Two virtual members talk in #lobby
 * ```ts
 * import assert from "node:assert/strict";
 * import { type ChatEvent, ChatHub, LOBBY, type Member } from "./mod.ts";
 *
 * const hub = new ChatHub();
 * const seen: string[] = [];
 * const member = (nick: string): Member => ({
 *   nick, user: nick, host: "local", realname: nick, transport: "local",
 *   channels: new Set<string>(), echo: false,
 *   deliver: (event: ChatEvent) => seen.push(`${nick}: ${event.text}`),
 *   disconnect() {},
 * });
 * const ann = member("ann");
 * const bob = member("bob");
 * for (const m of [ann, bob]) {
 *   hub.add(m);
 *   hub.join(m, LOBBY);
 * }
 * await hub.send(ann, "privmsg", LOBBY, "hi bob");
 * assert.equal(seen.at(-1), "bob: hi bob");
 * ```
 *
 * @module
 */
export {
  type ChannelError,
  CHANSERV_MASK,
  CHANSERV_NICK,
  ChatHub,
  GUEST_REDACTABLE,
  type HubOptions,
  LOBBY,
  type MessageStamp,
  type RecentMessage,
  type RedactError,
  type SendError,
  SERVER_NICK,
  type StateChange,
  STORED_TAGMSG_TAGS,
  type StoredMessage,
} from "./hub.ts";
export {
  type Device,
  isDevice,
  maskOf,
  type Member,
  memberOf,
  type Participant,
} from "./member.ts";
export {
  ALWAYS_ON_HOST,
  DETACHED_AWAY,
  Presence,
  type PresenceFields,
  restorePresence,
} from "./presence.ts";
export { type AlwaysOnAccount, AlwaysOnStore } from "./always_on.ts";
export {
  findRedactable,
  type Redactor,
  type RedactRefusal,
  type RedactScope,
} from "./redaction.ts";
export { ReadMarkerStore } from "./read_markers.ts";
export { mintToken, type SessionTokenOptions, SessionTokens, tokenHash } from "./session_tokens.ts";
export { NickServ, NICKSERV_NICK } from "./nickserv.ts";
export {
  type AccessEntry,
  Channel,
  type ChannelOptions,
  type ChannelRegistration,
  type JoinRefusal,
  type SpeakRefusal,
} from "./channel.ts";
export {
  CHANNEL_MODES,
  type ChannelSettings,
  defaultSettings,
  type FlagMode,
  KEY_LENGTH,
  keyProblem,
  type ListEntry,
  type ListMode,
  MAX_LIST_LENGTH,
  MAX_USER_LIMIT,
  type MemberMode,
  type ModeChange,
  type ModeError,
  type ModePlan,
  type ModeRefusal,
  modeString,
  type ModeTarget,
  paramRule,
  parseLimit,
  type PlanContext,
  planModes,
} from "./channel_modes.ts";
export {
  ChannelStore,
  type ChannelStoreOptions,
  type RegisteredChannel,
  type StoredTopic,
} from "./channel_store.ts";
export { ChanServ, type ChanServOptions } from "./chanserv.ts";
export {
  ACCOUNT_EXTBAN,
  maskMatches,
  maskProblem,
  type MaskSubject,
  MAX_MASK_LENGTH,
  normalizeMask,
  wildcardMatch,
} from "./masks.ts";
export {
  type ChatEvent,
  type ChatEventKind,
  type CommitState,
  createEvent,
  isLost,
  newMsgId,
} from "./chat_event.ts";
export { MembershipLog } from "./membership_log.ts";
export {
  ftsQuery,
  MAX_SEARCH_TEXT,
  MAX_SEARCH_WORDS,
  MIN_PREFIX,
  SearchTextError,
} from "./search_text.ts";
export { WatchList } from "./watch_list.ts";
export { WhowasLog, type WhowasOptions, type WhowasRecord } from "./whowas.ts";
export type { Connection } from "./connection.ts";
export {
  ChannelStream,
  type EventEncoder,
  Flusher,
  type PushKind,
  SendQueue,
  type SendQueueOptions,
} from "./delivery.ts";
export { RateCounter } from "./rate_counter.ts";
export {
  CHANNEL_LENGTH,
  channelProblem,
  HOST_LENGTH,
  hostProblem,
  isChannelName,
  isLocalNick,
  LOCAL_SUFFIX,
  NICK_LENGTH,
  nickProblem,
  toNick,
  toUserName,
  USER_LENGTH,
  userNameProblem,
} from "./names.ts";
export { privmsgBudget, splitWords } from "./split_text.ts";
export { escapeControls, terminalJson } from "./terminal_text.ts";
export { DataDirectoryError, type DataDirectoryProblem, defaultDataDir } from "./data_directory.ts";
export {
  type Account,
  type AccountOptions,
  AccountStore,
  type HashCost,
  hashPassword,
  isPasswordHash,
  type LoginFailure,
  type LoginResult,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  type RegisterFailure,
  type RegisterRefusal,
  type RegisterResult,
  validAccountName,
  verifyPassword,
} from "./accounts.ts";
export {
  type LoginRefusal,
  LoginThrottle,
  type LoginThrottleOptions,
  type LoginTurn,
} from "./login_throttle.ts";
export { RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";
export {
  isOperatorName,
  type Operator,
  OperatorFileError,
  OperatorList,
  type OperatorListOptions,
  type OperCheck,
  parseOperators,
  readOperatorFile,
} from "./operators.ts";
export {
  ACCOUNT_BAN_PREFIX,
  banMask,
  banMatcher,
  type BanSubject,
  parseDuration,
  type ServerBan,
  ServerBans,
} from "./server_bans.ts";
export {
  type Actor,
  banLength,
  type BanOutcome,
  type BanRequest,
  type HostChangeOutcome,
  type ModerationOptions,
  parseBanRequest,
  type RehashOutcome,
  ServerModeration,
} from "./server_moderation.ts";
export {
  FileStore,
  type FileStoreOptions,
  isFileId,
  safeFileName,
  type StoredFile,
  Upload,
  type UploadRefusalReason,
  type UploadStart,
} from "./file_store.ts";
export {
  contentTypeOf,
  type FileType,
  FileTypeSniffer,
  isFileType,
  isInlineType,
  nameForType,
} from "./file_type.ts";
