/**
 * The channel commands: JOIN, PART, NAMES, TOPIC, LIST and KICK.
 *
 * @module
 */
import type { Channel } from "../../chat/channel.ts";
import { foldCase } from "../../chat/casemap.ts";
import { maskOf } from "../../chat/member.ts";
import { channelProblem } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

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
  // multi-prefix: every prefix of a member; userhost-in-names: its whole mask.
  const allPrefixes = session.hasCap("multi-prefix");
  const masks = session.hasCap("userhost-in-names");
  for (const member of channel.members) {
    const name = channel.prefixOf(member, allPrefixes) + (masks ? maskOf(member) : member.nick);
    if (length + name.length + 1 > NAMES_BUDGET) flush();
    names.push(name);
    length += name.length + 1;
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

/** The channel commands, by name. */
export const CHANNEL_COMMANDS: Record<string, Handler> = {
  JOIN: join,
  KICK: kick,
  LIST: list,
  NAMES: names,
  PART: part,
  TOPIC: topic,
};
