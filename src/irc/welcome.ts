/**
 * The welcome burst a client gets on registering (001–005, LUSERS, MOTD), and the commands
 * that send parts of it again (LUSERS, MOTD).
 *
 * @module
 */
import { CHANNEL_MODES, KEY_LENGTH, MAX_LIST_LENGTH } from "../chat/channel_modes.ts";
import { ACCOUNT_EXTBAN } from "../chat/masks.ts";
import { maskOf } from "../chat/member.ts";
import { MAX_MODES } from "./commands/modes.ts";
import type { IrcLimits } from "./limits.ts";
import { Numeric } from "./numerics.ts";
import type { IrcSession } from "./session.ts";

/** What ISUPPORT says besides the limits. */
export interface IsupportOptions {
  /**
   * The URL files are uploaded to, advertised as `draft/FILEHOST` (the IRCv3 work in progress)
   * and `soju.im/FILEHOST` (soju's version of it, which gamja and senpai read). @default {undefined}
   */
  fileHost?: string;
}

/**
 * An ISUPPORT value with the characters that would end or split it escaped (`\xHH` for
 * backslash, space and `=`).
 */
function isupportValue(value: string): string {
  return value.replace(/[\\ =]/g, (char) => `\\x${char.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The ISUPPORT tokens of a server with these limits.
 *
 * @param limits The limits.
 * @param options The upload URL, when uploads are on.
 * @returns `NAME=value` tokens.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { isupportTokens } from "./welcome.ts";
 *
 * const tokens = isupportTokens({ ...DEFAULT_LIMITS, nickLength: 16 });
 * assert.ok(tokens.includes("CASEMAPPING=ascii"));
 * assert.ok(tokens.includes("NICKLEN=16"));
 * assert.ok(tokens.includes("LINELEN=512"));
 * assert.ok(tokens.includes("CHANMODES=beI,k,l,imnst"));
 * assert.ok(tokens.includes("PREFIX=(ov)@+"));
 * assert.ok(tokens.includes("EXTBAN=~,a"));
 * assert.ok(tokens.includes("WHOX"));
 * assert.ok(!tokens.some((token) => token.includes("FILEHOST")));
 * const upload = "https://chat.example/upload";
 * const withUploads = isupportTokens(DEFAULT_LIMITS, { fileHost: upload });
 * assert.ok(withUploads.includes(`draft/FILEHOST=${upload}`));
 * assert.ok(withUploads.includes(`soju.im/FILEHOST=${upload}`));
 * ```
 */
export function isupportTokens(limits: IrcLimits, options: IsupportOptions = {}): string[] {
  const { lists, key, limit, flags } = CHANNEL_MODES;
  const fileHost = options.fileHost === undefined ? undefined : isupportValue(options.fileHost);
  return [
    `ACCOUNTEXTBAN=${ACCOUNT_EXTBAN.slice(1, -1)}`,
    `AWAYLEN=${limits.topicLength}`,
    "BOT=B",
    "CASEMAPPING=ascii",
    `CHANLIMIT=#:${limits.maxChannels}`,
    `CHANMODES=${lists},${key},${limit},${flags}`,
    `CHANNELLEN=${limits.channelLength}`,
    "CHANTYPES=#",
    `CHATHISTORY=${limits.historyLimit}`,
    "EXCEPTS=e",
    `EXTBAN=${ACCOUNT_EXTBAN[0]},${ACCOUNT_EXTBAN.slice(1, -1)}`,
    "INVEX=I",
    `KEYLEN=${KEY_LENGTH}`,
    `KICKLEN=${limits.topicLength}`,
    `LINELEN=${limits.maxLine}`,
    `MAXLIST=${[...lists].map((list) => `${list}:${MAX_LIST_LENGTH}`).join(",")}`,
    `MAXTARGETS=${limits.maxTargets}`,
    `MODES=${MAX_MODES}`,
    `MONITOR=${limits.maxMonitor}`,
    "MSGREFTYPES=msgid,timestamp",
    "NETWORK=shmooze",
    `NICKLEN=${limits.nickLength}`,
    "PREFIX=(ov)@+",
    `TARGMAX=JOIN:,KICK:${limits.maxTargets},NAMES:1,PART:,PRIVMSG:${limits.maxTargets},NOTICE:${limits.maxTargets},WHOIS:1`,
    `TOPICLEN=${limits.topicLength}`,
    "UTF8ONLY",
    "WHOX",
    ...(fileHost === undefined
      ? []
      : [`draft/FILEHOST=${fileHost}`, `soju.im/FILEHOST=${fileHost}`]),
  ];
}

/**
 * Sends the ISUPPORT tokens (005), twelve to a line, as registration and VERSION do.
 *
 * @param session The client.
 */
export function sendIsupport(session: IrcSession): void {
  const { limits, fileHost } = session.context;
  const tokens = isupportTokens(limits, { fileHost });
  // IRCv3 draft/webpush: the key push subscriptions must be made for.
  if (session.context.push) tokens.push(`VAPID=${session.context.push.vapidKey}`);
  for (let i = 0; i < tokens.length; i += 12) {
    session.reply(
      Numeric.RPL_ISUPPORT,
      ...tokens.slice(i, i + 12),
      "are supported by this server",
    );
  }
}

/**
 * Sends what a client gets when its registration completes: 001–004, the ISUPPORT tokens
 * (005), LUSERS and the message of the day.
 *
 * @param session The client, just registered.
 *
 * @example 001 first, then ISUPPORT, LUSERS and the MOTD
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { IrcSession } from "./session.ts";
 * import { welcome } from "./welcome.ts";
 *
 * let output = "";
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
 *   write(chunks: Uint8Array[]) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const hub = new ChatHub();
 * const session = new IrcSession(connection, {
 *   hub,
 *   flusher: hub.flusher,
 *   limits: DEFAULT_LIMITS,
 *   serverName: "irc.test",
 *   version: "0.1.0",
 *   createdAt: Date.now(),
 *   motd: [],
 *   counters: { sendQDrops: 0 },
 * }, () => {});
 * session.nick = session.user = "ann";
 * welcome(session);
 * await session.queue.drained();
 * const lines = output.split("\r\n");
 * assert.equal(
 *   lines[0],
 *   ":irc.test 001 ann :Welcome to the shmooze IRC network, ann!ann@127.0.0.1",
 * );
 * const isupport = lines.filter((line) => line.startsWith(":irc.test 005 ann "));
 * assert.ok(isupport.some((line) => line.split(" ").includes("NICKLEN=32")));
 * assert.equal(lines.at(-2), ":irc.test 422 ann :MOTD File is missing");
 * ```
 */
export function welcome(session: IrcSession): void {
  const { serverName, version, createdAt } = session.context;
  const software = `shmooze-${version}`;
  session.reply(
    Numeric.RPL_WELCOME,
    `Welcome to the shmooze IRC network, ${maskOf(session)}`,
  );
  session.reply(Numeric.RPL_YOURHOST, `Your host is ${serverName}, running version ${software}`);
  session.reply(
    Numeric.RPL_CREATED,
    `This server was created ${new Date(createdAt).toISOString()}`,
  );
  const { lists, key, limit, flags, members } = CHANNEL_MODES;
  const channelModes = [...lists, key, limit, flags, members].join("");
  session.reply(
    Numeric.RPL_MYINFO,
    serverName,
    software,
    "Biow",
    [...channelModes].sort().join(""),
    [...lists, key, limit, members].join(""),
  );
  sendIsupport(session);
  sendLusers(session);
  sendMotd(session);
}

/**
 * Sends the LUSERS numerics (251, 252 when operators are online, 254, 255, 265, 266). One
 * server: its users are all the network's, and the peak is the most there have been at once
 * since it started.
 *
 * @param session The client.
 *
 * @example One user, one channel (#lobby)
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "../chat/hub.ts";
 * import { Presence } from "../chat/presence.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { IrcSession } from "./session.ts";
 * import { sendLusers } from "./welcome.ts";
 *
 * let output = "";
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
 *   write(chunks: Uint8Array[]) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const hub = new ChatHub();
 * const session = new IrcSession(connection, {
 *   hub,
 *   flusher: hub.flusher,
 *   limits: DEFAULT_LIMITS,
 *   serverName: "irc.test",
 *   version: "0.1.0",
 *   createdAt: Date.now(),
 *   motd: [],
 *   counters: { sendQDrops: 0 },
 * }, () => {});
 * session.nick = session.user = "ann";
 * hub.add(new Presence({ nick: "ann", user: "ann", host: "127.0.0.1", realname: "ann" }));
 * sendLusers(session);
 * await session.queue.drained();
 * const lines = output.split("\r\n");
 * assert.deepEqual(lines, [
 *   ":irc.test 251 ann :There are 1 users and 0 invisible on 1 servers",
 *   ":irc.test 254 ann 1 :channels formed",
 *   ":irc.test 255 ann :I have 1 clients and 0 servers",
 *   ":irc.test 265 ann 1 1 :Current local users 1, max 1",
 *   ":irc.test 266 ann 1 1 :Current global users 1, max 1",
 *   "",
 * ]);
 * ```
 */
export function sendLusers(session: IrcSession): void {
  const hub = session.context.hub;
  const users = hub.members.size;
  let invisible = 0;
  for (const member of hub.members.values()) if (member.invisible) invisible++;
  const peak = String(hub.peakMembers);
  session.reply(
    Numeric.RPL_LUSERCLIENT,
    `There are ${users - invisible} users and ${invisible} invisible on 1 servers`,
  );
  let opers = 0;
  for (const member of hub.members.values()) if (member.oper !== undefined) opers++;
  if (opers > 0) session.reply(Numeric.RPL_LUSEROP, String(opers), "operator(s) online");
  session.reply(Numeric.RPL_LUSERCHANNELS, String(hub.channels.size), "channels formed");
  session.reply(Numeric.RPL_LUSERME, `I have ${users} clients and 0 servers`);
  session.reply(
    Numeric.RPL_LOCALUSERS,
    String(users),
    peak,
    `Current local users ${users}, max ${peak}`,
  );
  session.reply(
    Numeric.RPL_GLOBALUSERS,
    String(users),
    peak,
    `Current global users ${users}, max ${peak}`,
  );
}

/**
 * Sends the message of the day (375, 372…, 376) or 422 when there is none.
 *
 * @param session The client.
 *
 * @example A message of the day of one line
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { IrcSession } from "./session.ts";
 * import { sendMotd } from "./welcome.ts";
 *
 * let output = "";
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {},
 *   write(chunks: Uint8Array[]) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
 * const hub = new ChatHub();
 * const session = new IrcSession(connection, {
 *   hub,
 *   flusher: hub.flusher,
 *   limits: DEFAULT_LIMITS,
 *   serverName: "irc.test",
 *   version: "0.1.0",
 *   createdAt: Date.now(),
 *   motd: ["Be nice."],
 *   counters: { sendQDrops: 0 },
 * }, () => {});
 * session.nick = session.user = "ann";
 * sendMotd(session);
 * await session.queue.drained();
 * const lines = output.split("\r\n");
 * assert.deepEqual(lines, [
 *   ":irc.test 375 ann :- irc.test Message of the day - ",
 *   ":irc.test 372 ann :- Be nice.",
 *   ":irc.test 376 ann :End of /MOTD command.",
 *   "",
 * ]);
 * ```
 */
export function sendMotd(session: IrcSession): void {
  const { motd, serverName } = session.context;
  if (motd.length === 0) {
    session.reply(Numeric.ERR_NOMOTD, "MOTD File is missing");
    return;
  }
  session.reply(Numeric.RPL_MOTDSTART, `- ${serverName} Message of the day - `);
  for (const line of motd) session.reply(Numeric.RPL_MOTD, `- ${line}`);
  session.reply(Numeric.RPL_ENDOFMOTD, "End of /MOTD command.");
}
