/**
 * The channel commands: JOIN, PART, NAMES, TOPIC, LIST, KICK and INVITE.
 *
 * @module
 */
import type { Channel, JoinRefusal } from "../../chat/channel.ts";
import { foldCase } from "../../chat/casemap.ts";
import type { ChatEvent } from "../../chat/chat_event.ts";
import type { ChannelError } from "../../chat/hub.ts";
import { maskOf } from "../../chat/member.ts";
import { channelProblem } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";
import { sendReadMarker } from "./markread.ts";

/** Room left on a line for the prefix of a 353 reply before the names. */
const NAMES_BUDGET = 400;

/** The numeric and text of each reason JOIN is refused. */
const JOIN_REFUSALS: Record<JoinRefusal, [string, string]> = {
  banned: [Numeric.ERR_BANNEDFROMCHAN, "Cannot join channel (+b)"],
  "invite-only": [Numeric.ERR_INVITEONLYCHAN, "Cannot join channel (+i)"],
  "bad-key": [Numeric.ERR_BADCHANNELKEY, "Cannot join channel (+k)"],
  full: [Numeric.ERR_CHANNELISFULL, "Cannot join channel (+l)"],
  unavailable: [
    Numeric.ERR_UNAVAILRESOURCE,
    "Cannot join channel: the server could not store it; try again later",
  ],
};

/**
 * Sends a channel's NAMES (353…, 366): each member with its prefix — every prefix with
 * `multi-prefix`, the highest otherwise — and its full mask with `userhost-in-names`. The
 * symbol is `@` for a secret channel, `=` for a public one. A secret channel the client is
 * not in gets the 366 alone.
 *
 * @param session The client.
 * @param channel The channel.
 */
function sendNames(session: IrcSession, channel: Channel): void {
  if (channel.visibleTo(session.member)) {
    const all = session.hasCap("multi-prefix");
    const masks = session.hasCap("userhost-in-names");
    const symbol = channel.hasFlag("s") ? "@" : "=";
    let names: string[] = [];
    let length = 0;
    const flush = () => {
      session.send({
        command: Numeric.RPL_NAMREPLY,
        params: [session.nick, symbol, channel.name, names.join(" ")],
        trailing: true,
      });
      names = [];
      length = 0;
    };
    for (const member of channel.members) {
      const name = channel.prefixOf(member, all) + (masks ? maskOf(member) : member.nick);
      if (length + name.length + 1 > NAMES_BUDGET) flush();
      names.push(name);
      length += name.length + 1;
    }
    if (names.length > 0) flush();
  }
  session.reply(Numeric.RPL_ENDOFNAMES, channel.name, "End of /NAMES list");
}

/**
 * What follows a JOIN for the client that joined (and the other devices of its user): the
 * topic if there is one, its read marker (IRCv3 read-marker, to clients that enabled it), and
 * NAMES.
 *
 * @param session The client.
 * @param channel The channel it is now in.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ChatHub } from "../../chat/hub.ts";
 * import { DEFAULT_LIMITS } from "../limits.ts";
 * import { IrcSession } from "../session.ts";
 * import { sendJoinReplies } from "./channels.ts";
 *
 * const hub = new ChatHub();
 * let output = "";
 * const connection = {
 *   transport: "memory",
 *   remoteAddress: "127.0.0.1",
 *   async *lines() {
 *     for (const line of ["NICK ann", "USER ann 0 * :Ann"]) yield new TextEncoder().encode(line);
 *     sendJoinReplies(session, hub.channel("#lobby")!);
 *   },
 *   write(chunks: Uint8Array[]) {
 *     for (const chunk of chunks) output += new TextDecoder().decode(chunk);
 *     return Promise.resolve();
 *   },
 *   close() {},
 * };
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
 * await session.run(); // registers, sends the replies, then the lines end and it closes
 * const lines = output.split("\r\n");
 * assert.equal(lines.at(-3), ":irc.test 366 ann #lobby :End of /NAMES list");
 * ```
 */
export function sendJoinReplies(session: IrcSession, channel: Channel): void {
  if (channel.topic !== "") sendTopic(session, channel);
  sendReadMarker(session, channel.name);
  sendNames(session, channel);
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

/** Answers a refused channel operation with its numeric. */
function channelError(session: IrcSession, command: string, name: string, error: ChannelError) {
  switch (error) {
    case "no-such-channel":
      return session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
    case "not-on-channel":
      return session.reply(Numeric.ERR_NOTONCHANNEL, name, "You're not on that channel");
    case "not-operator":
      return session.reply(Numeric.ERR_CHANOPRIVSNEEDED, name, "You're not channel operator");
    case "unavailable":
      return session.fail(
        command,
        "TEMPORARILY_UNAVAILABLE",
        name,
        "The change could not be stored, so it was not made; try again later",
      );
    // Kick and invite answer these with the victim's nick; they never reach here.
    case "not-in-channel":
    case "already-on-channel":
      return;
  }
}

function join(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const { hub, limits, cluster } = session.context;
  const list = message.params[0];
  if (!list) return session.needMoreParams("JOIN");
  if (list === "0") {
    const names = [...session.member.channels].flatMap((key) => hub.channels.get(key)?.name ?? []);
    if (cluster === undefined) {
      for (const name of names) hub.part(session, name, "Left all channels");
      return;
    }
    return (async () => {
      for (const name of names) await cluster.part(session, name, "Left all channels");
    })();
  }
  const keys = (message.params[1] ?? "").split(",");
  const wanted = list.split(",").map((name, i) => ({ name, key: keys[i] ?? "" }));
  // Whether a channel may be asked for at all; the hub (or, in a cluster, its log) decides.
  const admitted = ({ name }: { name: string }) => {
    if (channelProblem(name, limits.channelLength) !== undefined) {
      session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
      return false;
    }
    const channels = session.member.channels;
    if (channels.has(foldCase(name))) return false;
    if (channels.size >= limits.maxChannels) {
      session.reply(Numeric.ERR_TOOMANYCHANNELS, name, "You have joined too many channels");
      return false;
    }
    return true;
  };
  const answer = (name: string, channel: Channel | JoinRefusal | undefined) => {
    if (channel === undefined) return;
    if (typeof channel === "string") {
      const [numeric, text] = JOIN_REFUSALS[channel];
      return session.reply(numeric, hub.channel(name)?.name ?? name, text);
    }
    // Every device of the user is in it now: the others saw the JOIN, and get the rest.
    for (const device of session.devices()) sendJoinReplies(device, channel);
  };
  if (cluster === undefined) {
    for (const item of wanted) {
      if (admitted(item)) answer(item.name, hub.join(session, item.name, item.key));
    }
    return;
  }
  return (async () => {
    for (const item of wanted) {
      // Answered as it is applied: nothing applied after it comes before its replies.
      if (admitted(item)) {
        await cluster.join(session, item.name, item.key, (result) => answer(item.name, result));
      }
    }
  })();
}

function part(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const { hub, cluster } = session.context;
  const [list, reason = ""] = message.params;
  if (!list) return session.needMoreParams("PART");
  const answer = (name: string, parted: boolean | "unavailable" | undefined) => {
    const channel = hub.channel(name);
    if (channel === undefined && !parted) {
      session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
    } else if (parted === "unavailable") {
      channelError(session, "PART", channel?.name ?? name, parted);
    } else if (!parted) {
      session.reply(Numeric.ERR_NOTONCHANNEL, channel?.name ?? name, "You're not on that channel");
    }
  };
  const names = list.split(",");
  if (cluster === undefined) {
    for (const name of names) {
      answer(name, hub.channel(name) && hub.part(session, name, reason));
    }
    return;
  }
  return (async () => {
    for (const name of names) {
      answer(name, hub.channel(name) && await cluster.part(session, name, reason));
    }
  })();
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

function topic(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const { hub, limits, cluster } = session.context;
  const [name, text] = message.params;
  if (!name) return session.needMoreParams("TOPIC");
  const channel = hub.channel(name);
  if (channel === undefined || !channel.visibleTo(session.member)) {
    return session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
  }
  if (text === undefined) return sendTopic(session, channel);
  const topic = text.slice(0, limits.topicLength);
  const answer = (error: ChannelError | undefined) => {
    if (error !== undefined) channelError(session, "TOPIC", channel.name, error);
  };
  if (cluster === undefined) return answer(hub.setTopic(session, channel, topic));
  return cluster.setTopic(session, channel.name, topic).then(answer);
}

function list(session: IrcSession, message: IrcMessage): void {
  const hub = session.context.hub;
  const filter = message.params[0]?.split(",").map(foldCase);
  session.reply(Numeric.RPL_LISTSTART, "Channel", "Users  Name");
  for (const channel of hub.channels.values()) {
    if (filter && !filter.includes(channel.key)) continue;
    if (!channel.visibleTo(session.member)) continue;
    session.reply(Numeric.RPL_LIST, channel.name, String(channel.members.size), channel.topic);
  }
  session.reply(Numeric.RPL_LISTEND, "End of /LIST");
}

/**
 * `KICK #chan nick[,nick…] [:reason]`, or as many channels as nicks, paired. The reason
 * defaults to the kicker's nick (RFC 2812).
 */
function kick(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const { hub, limits, cluster } = session.context;
  const [channelList, nickList, text] = message.params;
  if (!channelList || !nickList) return session.needMoreParams("KICK");
  const channels = channelList.split(",");
  const nicks = nickList.split(",").slice(0, limits.maxTargets);
  if (channels.length !== 1 && channels.length !== nicks.length) {
    return session.needMoreParams("KICK");
  }
  const reason = (text || session.nick).slice(0, limits.topicLength);
  const answer = (
    name: string,
    nick: string,
    error: ChannelError | "no-such-nick" | "invalid" | undefined,
  ) => {
    const channel = hub.channel(name);
    if (error === "no-such-channel" || channel === undefined) {
      session.reply(Numeric.ERR_NOSUCHCHANNEL, name, "No such channel");
    } else if (error === "no-such-nick") {
      session.reply(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
    } else if (error === "invalid") {
      session.fail("KICK", "INVALID_PARAMS", channel.name, "The reason cannot be sent");
    } else if (error === "not-in-channel") {
      session.reply(
        Numeric.ERR_USERNOTINCHANNEL,
        hub.find(nick)?.nick ?? nick,
        channel.name,
        "They aren't on that channel",
      );
    } else if (error !== undefined) {
      channelError(session, "KICK", channel.name, error);
    }
  };
  const targets = nicks.map((nick, i) => ({
    name: channels.length === 1 ? channels[0] : channels[i],
    nick,
  }));
  // What a node can tell at once; whether the kicker may, the log decides on every node.
  const known = ({ name, nick }: { name: string; nick: string }) => {
    if (hub.channel(name) === undefined) answer(name, nick, "no-such-channel");
    else if (hub.find(nick) === undefined) answer(name, nick, "no-such-nick");
    else return true;
    return false;
  };
  if (cluster === undefined) {
    for (const { name, nick } of targets) {
      if (!known({ name, nick })) continue;
      answer(name, nick, hub.kickFromChannel(session, hub.channel(name)!, hub.find(nick)!, reason));
    }
    return;
  }
  return (async () => {
    for (const target of targets) {
      if (!known(target)) continue;
      const { name, nick } = target;
      answer(name, nick, await cluster.kick(session, hub.channel(name)!.name, nick, reason));
    }
  })();
}

/** `INVITE nick #chan`; with no parameter, the channels the client is invited to (336, 337). */
function invite(session: IrcSession, message: IrcMessage): Promise<void> | void {
  const { hub, cluster } = session.context;
  const [nick, name] = message.params;
  if (nick === undefined) {
    for (const invited of hub.invitesOf(session)) {
      session.reply(Numeric.RPL_INVITELIST, invited);
    }
    return session.reply(Numeric.RPL_ENDOFINVITELIST, "End of /INVITE list");
  }
  if (name === undefined) return session.needMoreParams("INVITE");
  if (hub.find(nick) === undefined) {
    return session.reply(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
  }
  const answer = (result: ChatEvent | ChannelError | "no-such-nick" | "invalid") => {
    const target = hub.find(nick);
    if (result === "no-such-nick" || target === undefined) {
      return session.reply(Numeric.ERR_NOSUCHNICK, nick, "No such nick/channel");
    }
    if (result === "already-on-channel") {
      const channel = hub.channel(name)!;
      return session.reply(
        Numeric.ERR_USERONCHANNEL,
        target.nick,
        channel.name,
        "is already on channel",
      );
    }
    if (result === "invalid") return channelError(session, "INVITE", name, "no-such-channel");
    if (typeof result === "string") return channelError(session, "INVITE", name, result);
    session.reply(Numeric.RPL_INVITING, target.nick, result.target);
    if (target.away !== undefined) session.reply(Numeric.RPL_AWAY, target.nick, target.away);
  };
  if (cluster === undefined) return answer(hub.invite(session, name, hub.find(nick)!));
  return cluster.invite(session, name, nick).then(answer);
}

/** The channel commands, by name. */
export const CHANNEL_COMMANDS: Record<string, Handler> = {
  INVITE: invite,
  JOIN: join,
  KICK: kick,
  LIST: list,
  NAMES: names,
  PART: part,
  TOPIC: topic,
};
