/**
 * Questions about users and the server, and a user's own state: WHO (with WHOX), WHOIS,
 * WHOWAS, ISON, USERHOST, AWAY, SETNAME, LUSERS, MOTD, VERSION, TIME, ADMIN and INFO.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import type { Channel } from "../../chat/channel.ts";
import { wildcardMatch } from "../../chat/masks.ts";
import type { Member } from "../../chat/member.ts";
import { isChannelName } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import { sendIsupport, sendLusers, sendMotd } from "../welcome.ts";
import type { Handler } from "./handler.ts";

/** WHOX fields in the order a 354 reply carries them, whatever order they were asked in. */
const WHOX_FIELDS = "tcuihsnfdlaor";
/** What WHOX shows for an address it does not know (a bridged local user has none). */
const NO_IP = "255.255.255.255";
/** WHOWAS records shown when the client asks for no count. */
const WHOWAS_DEFAULT = 10;

/**
 * The WHO flags of a member: here or gone, `*` for a server operator, `B` for a bot, then its
 * channel prefix.
 */
function whoFlags(session: IrcSession, member: Member, channel: Channel | undefined): string {
  const prefix = channel ? channel.prefixOf(member, session.hasCap("multi-prefix")) : "";
  const oper = member.oper === undefined ? "" : "*";
  return `${member.away === undefined ? "H" : "G"}${oper}${member.bot ? "B" : ""}${prefix}`;
}

/** One WHO answer: 352, or 354 with the fields WHOX asked for. */
function whoReply(
  session: IrcSession,
  member: Member,
  channel: Channel | undefined,
  whox: { fields: string; token: string } | undefined,
): void {
  const serverName = session.context.serverName;
  const channelName = channel?.name ?? "*";
  if (whox === undefined) {
    session.reply(
      Numeric.RPL_WHOREPLY,
      channelName,
      member.user,
      member.host,
      serverName,
      member.nick,
      whoFlags(session, member, channel),
      `0 ${member.realname}`,
    );
    return;
  }
  const value: Record<string, () => string> = {
    t: () => whox.token,
    c: () => channelName,
    u: () => member.user,
    i: () => /^[0-9a-fA-F.:]+$/.test(member.host) ? member.host : NO_IP,
    h: () => member.host,
    s: () => serverName,
    n: () => member.nick,
    f: () => whoFlags(session, member, channel),
    d: () => "0",
    l: () => String(Math.floor((Date.now() - (member.lastMessageAt ?? Date.now())) / 1000)),
    a: () => member.account ?? "0",
    o: () => "n/a",
    r: () => member.realname,
  };
  const params = [...WHOX_FIELDS].filter((field) => whox.fields.includes(field))
    .map((field) => value[field]());
  // The real name may hold spaces: it is last, and so the trailing parameter.
  session.send({
    command: Numeric.RPL_WHOSPCRPL,
    params: [session.nick, ...params],
    trailing: whox.fields.includes("r"),
  });
}

/**
 * `WHO <mask> [%fields[,token]]`: a channel's members, one nick, or everyone whose nick, user,
 * host or real name matches a wildcard mask (`*` and `0` are everyone). A mask shows no
 * invisible (`+i`) user who shares no channel with the asker; a secret (`+s`) channel shows
 * outsiders nobody; a plain nick always shows its holder. With `%fields` (WHOX) each answer
 * is a 354 of those fields.
 */
function who(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const mask = message.params[0] ?? "*";
  const options = message.params[1] ?? "";
  let whox: { fields: string; token: string } | undefined;
  if (options.startsWith("%")) {
    const [fields, token = "0"] = options.slice(1).split(",");
    whox = { fields, token: /^\d{1,3}$/.test(token) ? token : "0" };
  }
  if (isChannelName(mask)) {
    const channel = hub.channel(mask);
    if (channel?.visibleTo(session.member)) {
      const inside = channel.members.has(session.member);
      for (const member of channel.members) {
        if (inside || !member.invisible) whoReply(session, member, channel, whox);
      }
    }
  } else if (!/[*?]/.test(mask) && mask !== "0") {
    const member = hub.find(mask);
    if (member) whoReply(session, member, undefined, whox);
  } else {
    const pattern = mask === "0" ? "*" : mask;
    for (const member of hub.members.values()) {
      if (!visibleTo(session, member)) continue;
      if (
        [member.nick, member.user, member.host, member.realname]
          .some((field) => wildcardMatch(pattern, field))
      ) {
        whoReply(session, member, undefined, whox);
      }
    }
  }
  session.reply(Numeric.RPL_ENDOFWHO, mask, "End of WHO list");
}

/** Whether a wildcard search shows a member: not invisible, or sharing a channel, or oneself. */
function visibleTo(session: IrcSession, member: Member): boolean {
  if (member === session.member || !member.invisible) return true;
  for (const key of member.channels) if (session.member.channels.has(key)) return true;
  return false;
}

/**
 * `WHOIS <nick>`: 311, the channels (319, with prefixes; a secret channel only to its own
 * members), 312, away, operator, account, bot, idle, 318.
 */
function whois(session: IrcSession, message: IrcMessage): void {
  const { hub, serverName } = session.context;
  const nick = message.params.at(-1)?.split(",")[0];
  if (!nick) return session.reply(Numeric.ERR_NONICKNAMEGIVEN, "No nickname given");
  const member = hub.find(nick);
  if (member === undefined) {
    session.reply(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
    session.reply(Numeric.RPL_ENDOFWHOIS, nick, "End of /WHOIS list");
    return;
  }
  session.reply(Numeric.RPL_WHOISUSER, member.nick, member.user, member.host, "*", member.realname);
  const multiPrefix = session.hasCap("multi-prefix");
  const channels = [...member.channels].flatMap((key) => {
    const channel = hub.channels.get(key);
    if (channel === undefined || !channel.visibleTo(session.member)) return [];
    return [`${channel.prefixOf(member, multiPrefix)}${channel.name}`];
  });
  if (channels.length > 0) {
    session.reply(Numeric.RPL_WHOISCHANNELS, member.nick, channels.join(" "));
  }
  session.reply(Numeric.RPL_WHOISSERVER, member.nick, serverName, "shmooze");
  if (member.away !== undefined) session.reply(Numeric.RPL_AWAY, member.nick, member.away);
  if (member.oper !== undefined) {
    session.reply(Numeric.RPL_WHOISOPERATOR, member.nick, "is an IRC operator");
  }
  if (member.account !== undefined) {
    session.reply(Numeric.RPL_WHOISACCOUNT, member.nick, member.account, "is logged in as");
  }
  if (member.bot) session.reply(Numeric.RPL_WHOISBOT, member.nick, "is a bot");
  if (member.connectedAt !== undefined) {
    session.reply(
      Numeric.RPL_WHOISIDLE,
      member.nick,
      String(Math.floor((Date.now() - (member.lastMessageAt ?? member.connectedAt)) / 1000)),
      String(Math.floor(member.connectedAt / 1000)),
      "seconds idle, signon time",
    );
  }
  session.reply(Numeric.RPL_ENDOFWHOIS, member.nick, "End of /WHOIS list");
}

/**
 * `WHOWAS <nick> [count]`: who last used a nick, newest first (314 and 312 each, then 369); a
 * count of 0 or less, or none, shows all that are kept.
 */
function whowas(session: IrcSession, message: IrcMessage): void {
  const { hub, serverName } = session.context;
  const [nick, countText] = message.params;
  if (!nick) return session.needMoreParams("WHOWAS");
  const count = /^-?\d+$/.test(countText ?? "") ? Number(countText) : WHOWAS_DEFAULT;
  const records = hub.whowas.find(nick, count);
  if (records.length === 0) {
    session.reply(Numeric.ERR_WASNOSUCHNICK, nick, "There was no such nickname");
  }
  for (const record of records) {
    session.reply(
      Numeric.RPL_WHOWASUSER,
      record.nick,
      record.user,
      record.host,
      "*",
      record.realname,
    );
    session.reply(
      Numeric.RPL_WHOISSERVER,
      record.nick,
      serverName,
      new Date(record.time).toUTCString(),
    );
  }
  session.reply(Numeric.RPL_ENDOFWHOWAS, nick, "End of WHOWAS");
}

function away(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const text = (message.params[0] ?? "").slice(0, session.context.limits.topicLength);
  const answer = (changed: boolean | "unavailable") => {
    if (changed === "unavailable") {
      session.fail("AWAY", "TEMPORARILY_UNAVAILABLE", "Your away status could not be changed");
    } else if (text === "") {
      session.reply(Numeric.RPL_UNAWAY, "You are no longer marked as being away");
    } else session.reply(Numeric.RPL_NOWAWAY, "You have been marked as being away");
  };
  const { hub, cluster } = session.context;
  if (cluster === undefined) return answer(hub.setAway(session, text));
  return cluster.setAway(session, text).then(answer);
}

/**
 * `SETNAME :<real name>` (IRCv3 setname): changes the real name; everyone sharing a channel,
 * and the client itself, get `SETNAME` if they enabled the capability.
 */
function setname(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const realname = message.params[0];
  if (realname === undefined) return session.needMoreParams("SETNAME");
  const limit = session.context.limits.topicLength;
  if (realname === "" || realname.length > limit) {
    return session.fail(
      "SETNAME",
      "INVALID_REALNAME",
      `A real name must be 1 to ${limit} characters long`,
    );
  }
  const cluster = session.context.cluster;
  if (cluster === undefined) return session.context.hub.setRealname(session, realname);
  return cluster.setRealname(session, realname).then((done) => {
    if (done === "unavailable") {
      session.fail("SETNAME", "TEMPORARILY_UNAVAILABLE", "Your real name could not be changed");
    }
  });
}

function userhost(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  if (message.params.length === 0) return session.needMoreParams("USERHOST");
  const replies = message.params.slice(0, 5).flatMap((nick) => {
    const member = hub.find(nick);
    if (member === undefined) return [];
    return [`${member.nick}=${member.away === undefined ? "+" : "-"}${member.user}@${member.host}`];
  });
  session.reply(Numeric.RPL_USERHOST, replies.join(" "));
}

function ison(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  if (message.params.length === 0) return session.needMoreParams("ISON");
  const online = message.params.flatMap((p) => p.split(" ")).flatMap((nick) => {
    const member = hub.find(nick);
    return member ? [member.nick] : [];
  });
  session.reply(Numeric.RPL_ISON, online.join(" "));
}

/**
 * Whether a server-query command (`TIME`, `VERSION`, `ADMIN`, `INFO`) may be answered: it names
 * no server, this server (also by a mask), or a user on it. Otherwise 402: there is no other.
 */
function forThisServer(session: IrcSession, target: string | undefined): boolean {
  const { serverName, hub } = session.context;
  if (
    target === undefined || foldCase(target) === foldCase(serverName) ||
    wildcardMatch(target, serverName) || hub.find(target) !== undefined
  ) {
    return true;
  }
  session.reply(Numeric.ERR_NOSUCHSERVER, target, "No such server");
  return false;
}

function version(session: IrcSession, message: IrcMessage): void {
  if (!forThisServer(session, message.params[0])) return;
  const { version, serverName } = session.context;
  session.reply(Numeric.RPL_VERSION, `shmooze-${version}`, serverName, "IRCv3");
  sendIsupport(session);
}

function time(session: IrcSession, message: IrcMessage): void {
  if (!forThisServer(session, message.params[0])) return;
  session.reply(Numeric.RPL_TIME, session.context.serverName, new Date().toUTCString());
}

function admin(session: IrcSession, message: IrcMessage): void {
  if (!forThisServer(session, message.params[0])) return;
  const { serverName, version } = session.context;
  session.reply(Numeric.RPL_ADMINME, serverName, "Administrative info");
  session.reply(Numeric.RPL_ADMINLOC1, `${serverName} runs shmooze ${version}`);
  session.reply(Numeric.RPL_ADMINLOC2, "Its operator speaks as *server* in #lobby");
  session.reply(Numeric.RPL_ADMINEMAIL, "No administrator e-mail address is configured");
}

function info(session: IrcSession, message: IrcMessage): void {
  if (!forThisServer(session, message.params[0])) return;
  const { version, createdAt } = session.context;
  const lines = [
    `shmooze ${version}: chat over shared memory, semaphores and IRC`,
    `Running on Deno ${Deno.version.deno} (${Deno.build.os} ${Deno.build.arch})`,
    `Up since ${new Date(createdAt).toUTCString()}`,
  ];
  for (const line of lines) session.reply(Numeric.RPL_INFO, line);
  session.reply(Numeric.RPL_ENDOFINFO, "End of INFO list");
}

/** The query commands, by name. */
export const QUERY_COMMANDS: Record<string, Handler> = {
  ADMIN: admin,
  AWAY: away,
  INFO: info,
  ISON: ison,
  LUSERS: sendLusers,
  MOTD: sendMotd,
  SETNAME: setname,
  TIME: time,
  USERHOST: userhost,
  VERSION: version,
  WHO: who,
  WHOIS: whois,
  WHOWAS: whowas,
};
