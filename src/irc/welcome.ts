/**
 * The welcome burst a client gets on registering (001–005, LUSERS, MOTD), and the commands
 * that send parts of it again (LUSERS, MOTD).
 *
 * @module
 */
import { maskOf } from "../chat/member.ts";
import type { IrcLimits } from "./limits.ts";
import { Numeric } from "./numerics.ts";
import type { IrcSession } from "./session.ts";

/**
 * The ISUPPORT tokens of a server with these limits.
 *
 * @param limits The limits.
 * @returns `NAME=value` tokens.
 *
 * @example
 * ```ts
 * import { DEFAULT_LIMITS } from "./limits.ts";
 * import { isupportTokens } from "./welcome.ts";
 * console.log(isupportTokens(DEFAULT_LIMITS).includes("CASEMAPPING=ascii")); // true
 * ```
 */
export function isupportTokens(limits: IrcLimits): string[] {
  return [
    `AWAYLEN=${limits.topicLength}`,
    "CASEMAPPING=ascii",
    `CHANLIMIT=#:${limits.maxChannels}`,
    "CHANMODES=b,,,n",
    `CHANNELLEN=${limits.channelLength}`,
    "CHANTYPES=#",
    `CHATHISTORY=${limits.historyLimit}`,
    `KICKLEN=${limits.topicLength}`,
    `LINELEN=${limits.maxLine}`,
    `MAXTARGETS=${limits.maxTargets}`,
    "MSGREFTYPES=msgid,timestamp",
    "NETWORK=shmooze",
    `NICKLEN=${limits.nickLength}`,
    "PREFIX=(o)@",
    `TARGMAX=JOIN:,NAMES:1,PART:,PRIVMSG:${limits.maxTargets},NOTICE:${limits.maxTargets},WHOIS:1`,
    `TOPICLEN=${limits.topicLength}`,
    "UTF8ONLY",
  ];
}

/**
 * Sends what a client gets when its registration completes: 001–004, the ISUPPORT tokens
 * (005), LUSERS and the message of the day.
 *
 * @param session The client, just registered.
 */
export function welcome(session: IrcSession): void {
  const { serverName, version, createdAt, limits } = session.context;
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
  session.reply(Numeric.RPL_MYINFO, serverName, software, "i", "bn");
  const tokens = isupportTokens(limits);
  for (let i = 0; i < tokens.length; i += 12) {
    session.reply(
      Numeric.RPL_ISUPPORT,
      ...tokens.slice(i, i + 12),
      "are supported by this server",
    );
  }
  sendLusers(session);
  sendMotd(session);
}

/**
 * Sends the LUSERS numerics (251, 254, 255).
 *
 * @param session The client.
 */
export function sendLusers(session: IrcSession): void {
  const hub = session.context.hub;
  const users = hub.members.size;
  session.reply(
    Numeric.RPL_LUSERCLIENT,
    `There are ${users} users and 0 invisible on 1 servers`,
  );
  session.reply(Numeric.RPL_LUSERCHANNELS, String(hub.channels.size), "channels formed");
  session.reply(Numeric.RPL_LUSERME, `I have ${users} clients and 0 servers`);
}

/**
 * Sends the message of the day (375, 372…, 376) or 422 when there is none.
 *
 * @param session The client.
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
