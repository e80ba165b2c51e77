/**
 * Questions about users and the server, and a user's own state: WHO, WHOIS, ISON, USERHOST,
 * AWAY, LUSERS, MOTD and VERSION.
 *
 * @module
 */
import type { Member } from "../../chat/member.ts";
import { isChannelName } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import { sendLusers, sendMotd } from "../welcome.ts";
import type { Handler } from "./handler.ts";

function whoReply(session: IrcSession, member: Member, channel: string): void {
  session.reply(
    Numeric.RPL_WHOREPLY,
    channel,
    member.user,
    member.host,
    session.context.serverName,
    member.nick,
    `${member.away === undefined ? "H" : "G"}${member.oper === undefined ? "" : "*"}`,
    `0 ${member.realname}`,
  );
}

function who(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const mask = message.params[0] ?? "*";
  const channel = isChannelName(mask) ? hub.channel(mask) : undefined;
  if (channel) {
    for (const member of channel.members) whoReply(session, member, channel.name);
  } else {
    const member = hub.find(mask);
    if (member) whoReply(session, member, "*");
  }
  session.reply(Numeric.RPL_ENDOFWHO, mask, "End of WHO list");
}

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
  const channels = [...member.channels].map((key) => hub.channels.get(key)?.name ?? key);
  if (channels.length > 0) {
    session.reply(Numeric.RPL_WHOISCHANNELS, member.nick, channels.join(" "));
  }
  session.reply(Numeric.RPL_WHOISSERVER, member.nick, serverName, "shmooze");
  if (member.away !== undefined) session.reply(Numeric.RPL_AWAY, member.nick, member.away);
  if (member.oper !== undefined) {
    session.reply(Numeric.RPL_WHOISOPERATOR, member.nick, "is an IRC operator");
  }
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

function away(session: IrcSession, message: IrcMessage): void {
  const text = message.params[0];
  if (text === undefined || text === "") {
    session.away = undefined;
    session.reply(Numeric.RPL_UNAWAY, "You are no longer marked as being away");
  } else {
    session.away = text.slice(0, session.context.limits.topicLength);
    session.reply(Numeric.RPL_NOWAWAY, "You have been marked as being away");
  }
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

/** The query commands, by name. */
export const QUERY_COMMANDS: Record<string, Handler> = {
  AWAY: away,
  ISON: ison,
  LUSERS: sendLusers,
  MOTD: sendMotd,
  USERHOST: userhost,
  VERSION: (session) => {
    const { version, serverName } = session.context;
    session.reply(Numeric.RPL_VERSION, `shmooze-${version}`, serverName, "IRCv3");
  },
  WHO: who,
  WHOIS: whois,
};
