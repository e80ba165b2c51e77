/**
 * The IRC commands a registered client may send, one handler each, on top of the chat core.
 *
 * @module
 */
import type { Channel } from "../chat/channel.ts";
import type { Member } from "../chat/member.ts";
import { registerAccount } from "./account_registration.ts";
import { chatHistory } from "./chathistory.ts";
import { foldCase } from "../chat/casemap.ts";
import { channelProblem, isChannelName } from "../chat/names.ts";
import type { IrcMessage } from "./message.ts";
import { Numeric } from "./numerics.ts";
import type { IrcSession } from "./session.ts";
import { sendLusers, sendMotd } from "./welcome.ts";

/**
 * Handles one command from a registered client. A handler that must wait (for history, for
 * a password hash) returns a promise: the session reads its next command only after it.
 */
export type Handler = (session: IrcSession, message: IrcMessage) => void | Promise<void>;

/** Room left on a line for the prefix of a 353 reply before the names. */
const NAMES_BUDGET = 400;

function sendNames(session: IrcSession, channel: Channel): void {
  let names: string[] = [];
  let length = 0;
  const flush = () => {
    session.send({
      command: Numeric.RPL_NAMREPLY,
      params: [session.nick, "=", channel.name, names.join(" ")],
      trailing: true,
    });
    names = [];
    length = 0;
  };
  for (const member of channel.members) {
    if (length + member.nick.length + 1 > NAMES_BUDGET) flush();
    names.push(member.nick);
    length += member.nick.length + 1;
  }
  if (names.length > 0) flush();
  session.reply(Numeric.RPL_ENDOFNAMES, channel.name, "End of /NAMES list");
}

function sendTopic(session: IrcSession, channel: Channel): void {
  if (channel.topic === "") {
    session.reply(Numeric.RPL_NOTOPIC, channel.name, "No topic is set");
    return;
  }
  session.reply(Numeric.RPL_TOPIC, channel.name, channel.topic);
  session.reply(
    Numeric.RPL_TOPICWHOTIME,
    channel.name,
    channel.topicSetBy,
    String(Math.floor(channel.topicSetAt / 1000)),
  );
}

function join(session: IrcSession, message: IrcMessage): void {
  const { hub, limits } = session.context;
  const list = message.params[0];
  if (!list) return session.needMoreParams("JOIN");
  if (list === "0") {
    for (const key of [...session.channels]) {
      const channel = hub.channels.get(key);
      if (channel) hub.part(session, channel.name, "Left all channels");
    }
    return;
  }
  for (const name of list.split(",")) {
    if (channelProblem(name, limits.channelLength) !== undefined) {
      session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
      continue;
    }
    if (session.channels.has(foldCase(name))) continue;
    if (session.channels.size >= limits.maxChannels) {
      session.reply(Numeric.ERR_TOOMANYCHANNELS, name, "You have joined too many channels");
      continue;
    }
    const channel = hub.join(session, name);
    if (channel === undefined) continue;
    if (channel.topic !== "") sendTopic(session, channel);
    sendNames(session, channel);
  }
}

function part(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const [list, reason = ""] = message.params;
  if (!list) return session.needMoreParams("PART");
  for (const name of list.split(",")) {
    const channel = hub.channel(name);
    if (channel === undefined) {
      session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
    } else if (!hub.part(session, name, reason)) {
      session.reply(Numeric.ERR_NOTONCHANNEL, channel.name, "You're not on that channel");
    }
  }
}

function names(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const list = message.params[0];
  if (!list) {
    session.reply(Numeric.RPL_ENDOFNAMES, "*", "End of /NAMES list");
    return;
  }
  for (const name of list.split(",")) {
    const channel = hub.channel(name);
    if (channel) sendNames(session, channel);
    else session.reply(Numeric.RPL_ENDOFNAMES, name, "End of /NAMES list");
  }
}

function topic(session: IrcSession, message: IrcMessage): void {
  const { hub, limits } = session.context;
  const [name, text] = message.params;
  if (!name) return session.needMoreParams("TOPIC");
  const channel = hub.channel(name);
  if (channel === undefined) {
    return session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
  }
  if (text === undefined) return sendTopic(session, channel);
  if (!channel.members.has(session)) {
    return session.reply(Numeric.ERR_NOTONCHANNEL, channel.name, "You're not on that channel");
  }
  hub.setTopic(session, channel, text.slice(0, limits.topicLength));
}

function chatMessage(kind: "privmsg" | "notice"): Handler {
  const command = kind.toUpperCase();
  return async (session, message) => {
    const { hub, limits } = session.context;
    const quiet = kind === "notice";
    const [targets, text] = message.params;
    if (!targets) {
      if (!quiet) session.reply(Numeric.ERR_NORECIPIENT, `No recipient given (${command})`);
      return;
    }
    if (text === undefined || text === "") {
      if (!quiet) session.reply(Numeric.ERR_NOTEXTTOSEND, "No text to send");
      return;
    }
    const list = targets.split(",");
    if (list.length > limits.maxTargets) {
      if (!quiet) session.reply(Numeric.ERR_TOOMANYTARGETS, targets, "Too many recipients");
      return;
    }
    const clientTags = clientOnlyTags(message.tags);
    session.lastMessageAt = Date.now();
    // Every target's message is appended now and stored by one commit; the replies follow
    // in the targets' order once it is done.
    const results = await Promise.all(
      list.map((target) => hub.send(session, kind, target, text, clientTags)),
    );
    list.forEach((target, i) => {
      const result = results[i];
      if (result === "unavailable") {
        // Not even for NOTICE is this silent: the sender must know its line was not sent.
        session.fail(
          command,
          "TEMPORARILY_UNAVAILABLE",
          target,
          "The message could not be stored, so it was not sent; try again later",
        );
      } else if (typeof result !== "string") {
        const recipient = isChannelName(target) ? undefined : hub.find(target);
        if (!quiet && recipient?.away !== undefined) {
          session.reply(Numeric.RPL_AWAY, recipient.nick, recipient.away);
        }
      } else if (!quiet) {
        if (result === "no-such-nick") {
          session.reply(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
        } else if (result === "no-such-channel") {
          session.reply(Numeric.ERR_NOSUCHCHANNEL, target, "No such channel");
        } else {
          session.reply(Numeric.ERR_CANNOTSENDTOCHAN, target, "Cannot send to channel");
        }
      }
    });
  };
}

function tagMessage(session: IrcSession, message: IrcMessage): void {
  const target = message.params[0];
  const clientTags = clientOnlyTags(message.tags);
  if (!target) return session.reply(Numeric.ERR_NORECIPIENT, "No recipient given (TAGMSG)");
  if (clientTags === undefined || !session.hasCap("message-tags")) return;
  const result = session.context.hub.tag(session, target, clientTags);
  if (result === "no-such-nick") {
    session.reply(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
  } else if (result === "no-such-channel") {
    session.reply(Numeric.ERR_NOSUCHCHANNEL, target, "No such channel");
  } else if (result === "not-in-channel") {
    session.reply(Numeric.ERR_CANNOTSENDTOCHAN, target, "Cannot send to channel");
  }
}

function clientOnlyTags(tags: Record<string, string>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name in tags) {
    if (name.startsWith("+")) (out ??= {})[name] = tags[name];
  }
  return out;
}

function whoReply(session: IrcSession, member: Member, channel: string): void {
  session.reply(
    Numeric.RPL_WHOREPLY,
    channel,
    member.user,
    member.host,
    session.context.serverName,
    member.nick,
    member.away === undefined ? "H" : "G",
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

function list(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const filter = message.params[0]?.split(",").map(foldCase);
  session.reply(Numeric.RPL_LISTSTART, "Channel", "Users  Name");
  for (const channel of hub.channels.values()) {
    if (filter && !filter.includes(channel.key)) continue;
    session.reply(Numeric.RPL_LIST, channel.name, String(channel.members.size), channel.topic);
  }
  session.reply(Numeric.RPL_LISTEND, "End of /LIST");
}

function mode(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const [target, change] = message.params;
  if (!target) return session.needMoreParams("MODE");
  if (isChannelName(target)) {
    const channel = hub.channel(target);
    if (channel === undefined) {
      return session.reply(Numeric.ERR_NOSUCHCHANNEL, target, "No such channel");
    }
    if (change === undefined) {
      session.reply(Numeric.RPL_CHANNELMODEIS, channel.name, "+n");
      session.reply(
        Numeric.RPL_CREATIONTIME,
        channel.name,
        String(Math.floor(channel.createdAt / 1000)),
      );
      return;
    }
    const letters = change.replace(/^[+-]/, "");
    // A list query (`MODE #c b` or `+b` with no mask) is answered with an empty list.
    if (message.params.length === 2 && letters.length === 1) {
      if (letters === "b") {
        return session.reply(Numeric.RPL_ENDOFBANLIST, channel.name, "End of channel ban list");
      }
      if (letters === "e") {
        return session.reply(
          Numeric.RPL_ENDOFEXCEPTLIST,
          channel.name,
          "End of channel exception list",
        );
      }
      if (letters === "I") {
        return session.reply(
          Numeric.RPL_ENDOFINVITELIST,
          channel.name,
          "End of channel invite list",
        );
      }
    }
    const unknown = [...letters].find((c) => !"+-bnteIoklimsv".includes(c));
    if (unknown !== undefined) {
      return session.reply(Numeric.ERR_UNKNOWNMODE, unknown, "is unknown mode char to me");
    }
    return session.reply(Numeric.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator");
  }
  const member = hub.find(target);
  if (member === undefined) {
    return session.reply(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
  }
  if (member !== session) {
    return session.reply(Numeric.ERR_USERSDONTMATCH, "Cannot change mode for other users");
  }
  if (change === undefined) {
    return session.reply(Numeric.RPL_UMODEIS, session.invisible ? "+i" : "+");
  }
  let adding = true;
  let applied = "";
  for (const c of change) {
    if (c === "+" || c === "-") {
      adding = c === "+";
    } else if (c === "i") {
      if (session.invisible !== adding) applied += (adding ? "+" : "-") + "i";
      session.invisible = adding;
    } else {
      session.reply(Numeric.ERR_UMODEUNKNOWNFLAG, "Unknown MODE flag");
    }
  }
  if (applied !== "") {
    session.send({ source: session.nick, command: "MODE", params: [session.nick, applied] });
  }
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

function kick(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const [name, nick] = message.params;
  if (!name || !nick) return session.needMoreParams("KICK");
  const channel = hub.channel(name);
  if (channel === undefined) {
    return session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
  }
  if (!channel.members.has(session)) {
    return session.reply(Numeric.ERR_NOTONCHANNEL, channel.name, "You're not on that channel");
  }
  session.reply(Numeric.ERR_CHANOPRIVSNEEDED, channel.name, "You're not channel operator");
}

/**
 * Every command a registered client may send, beyond those of registration.
 *
 * @example The session handles registration's commands itself
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMANDS } from "./_commands.ts";
 *
 * assert.equal(typeof COMMANDS.PRIVMSG, "function");
 * assert.equal(COMMANDS.NICK, undefined);
 * ```
 */
export const COMMANDS: Record<string, Handler> = {
  AWAY: away,
  CHATHISTORY: chatHistory,
  ISON: ison,
  JOIN: join,
  KICK: kick,
  KILL: (session) => session.reply(Numeric.ERR_NOPRIVILEGES, "Permission Denied"),
  LIST: list,
  LUSERS: sendLusers,
  MODE: mode,
  MOTD: sendMotd,
  NAMES: names,
  NOTICE: chatMessage("notice"),
  OPER: (session) => session.reply(Numeric.ERR_NOOPERHOST, "No O-lines for your host"),
  PART: part,
  PRIVMSG: chatMessage("privmsg"),
  TAGMSG: tagMessage,
  REGISTER: registerAccount,
  TOPIC: topic,
  USERHOST: userhost,
  VERSION: (session) => {
    const { version, serverName } = session.context;
    session.reply(Numeric.RPL_VERSION, `shmooze-${version}`, serverName, "IRCv3");
  },
  WHO: who,
  WHOIS: whois,
};
