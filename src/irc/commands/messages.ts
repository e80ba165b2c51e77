/**
 * Chat messages: PRIVMSG, NOTICE and TAGMSG.
 *
 * @module
 */
import { maskOf } from "../../chat/member.ts";
import { isChannelName } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

function chatMessage(kind: "privmsg" | "notice"): Handler {
  const command = kind.toUpperCase();
  return async (session, message) => {
    const { hub, limits, cluster } = session.context;
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
    // The line others get carries the sender's mask: it must fit the line limit too, or it
    // would be cut (or dropped) on the way. The sender's client splits to fit, as ours do.
    const mask = maskOf(session);
    const relayed = Math.max(...list.map((target) => relayedBytes(mask, command, target, text)));
    if (relayed > limits.maxLine) {
      session.reply(
        Numeric.ERR_INPUTTOOLONG,
        `Message too long: relayed with your prefix it would be ${relayed} bytes, over ${limits.maxLine}`,
      );
      return;
    }
    const clientTags = clientOnlyTags(message.tags);
    session.member.lastMessageAt = Date.now();
    // Every target's message is appended now and stored by one commit; the replies follow
    // in the targets' order once it is done.
    const results = await Promise.all(
      list.map((target) =>
        cluster === undefined
          ? hub.send(session, kind, target, text, clientTags)
          : cluster.send(session, kind, target, text, clientTags)
      ),
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

async function tagMessage(session: IrcSession, message: IrcMessage): Promise<void> {
  const target = message.params[0];
  const clientTags = clientOnlyTags(message.tags);
  if (!target) return session.reply(Numeric.ERR_NORECIPIENT, "No recipient given (TAGMSG)");
  if (clientTags === undefined || !session.hasCap("message-tags")) return;
  // A reaction is stored before anyone sees it: the next command waits for that.
  const { hub, cluster } = session.context;
  const result = cluster === undefined
    ? await hub.tag(session, target, clientTags)
    : await cluster.send(session, "tagmsg", target, "", clientTags);
  if (result === "unavailable") {
    session.fail(
      "TAGMSG",
      "TEMPORARILY_UNAVAILABLE",
      target,
      "The message could not be stored, so it was not sent; try again later",
    );
  } else if (result === "no-such-nick") {
    session.reply(Numeric.ERR_NOSUCHNICK, target, "No such nick/channel");
  } else if (result === "no-such-channel") {
    session.reply(Numeric.ERR_NOSUCHCHANNEL, target, "No such channel");
  } else if (result === "not-in-channel") {
    session.reply(Numeric.ERR_CANNOTSENDTOCHAN, target, "Cannot send to channel");
  }
}

/** The bytes of `:mask COMMAND target :text` and CR LF. */
function relayedBytes(mask: string, command: string, target: string, text: string): number {
  return encoder.encode(`:${mask} ${command} ${target} :${text}\r\n`).length;
}

const encoder = new TextEncoder();

function clientOnlyTags(tags: Record<string, string>): Record<string, string> | undefined {
  let out: Record<string, string> | undefined;
  for (const name in tags) {
    if (name.startsWith("+")) (out ??= {})[name] = tags[name];
  }
  return out;
}

/** The messaging commands, by name. */
export const MESSAGE_COMMANDS: Record<string, Handler> = {
  NOTICE: chatMessage("notice"),
  PRIVMSG: chatMessage("privmsg"),
  TAGMSG: tagMessage,
};
