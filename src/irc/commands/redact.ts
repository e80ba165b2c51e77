/**
 * IRCv3 `draft/message-redaction`: `REDACT <target> <msgid> [:reason]` deletes a message (who
 * may: see `chat/redaction.ts`), answered with the spec's FAIL codes or, on success, with the
 * REDACT itself, which everyone in the conversation with the capability gets too.
 *
 * @module
 */
import { historyOwner } from "../chathistory.ts";
import { maskOf } from "../../chat/member.ts";
import { isChannelName } from "../../chat/names.ts";
import type { IrcMessage } from "../message.ts";
import { Numeric } from "../numerics.ts";
import type { IrcSession } from "../session.ts";
import type { Handler } from "./handler.ts";

/**
 * The capability a client enables to delete messages and to be told of deletions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REDACTION_CAP } from "./redact.ts";
 *
 * assert.equal(REDACTION_CAP, "draft/message-redaction");
 * ```
 */
export const REDACTION_CAP = "draft/message-redaction";

const FORBIDDEN = "You are not authorised to delete this message";
const UNKNOWN = "This message does not exist, is too old or was deleted already";

async function redact(session: IrcSession, message: IrcMessage): Promise<void> {
  const [target, msgid, reason = ""] = message.params;
  if (!session.hasCap(REDACTION_CAP)) {
    return session.reply(
      Numeric.ERR_UNKNOWNCOMMAND,
      "REDACT",
      `Enable the ${REDACTION_CAP} capability to delete messages`,
    );
  }
  if (!target || !msgid) return session.needMoreParams("REDACT");
  if (target.includes(",") || (!isChannelName(target) && target.startsWith("#"))) {
    return invalidTarget(session, target);
  }
  const { hub, limits, cluster } = session.context;
  const bytes = limits.maxLine - relayedBytes(session, target, msgid);
  const why = cut(reason, limits.topicLength, bytes);
  // In a cluster every node decides and deletes as it applies the log's entry (who the asker
  // is, and its account, are the log's there).
  const result = cluster === undefined
    ? await hub.redact(session, target, msgid, why, historyOwner(session))
    : await cluster.redact(session, target, msgid, why);
  if (typeof result !== "string") return;
  // Echoed in a FAIL, a long target or msgid could push the line past 512 bytes: no name or id
  // the server knows comes near ECHO_BYTES, so a cut one names nothing either.
  const where = cut(target, ECHO_BYTES, ECHO_BYTES);
  const which = cut(msgid, ECHO_BYTES, ECHO_BYTES);
  switch (result) {
    case "invalid-target":
      return invalidTarget(session, target);
    case "forbidden":
      return session.fail("REDACT", "REDACT_FORBIDDEN", where, which, FORBIDDEN);
    case "unknown-msgid":
      return session.fail("REDACT", "UNKNOWN_MSGID", where, which, UNKNOWN);
    case "no-history":
      return session.fail(
        "REDACT",
        "UNKNOWN_MSGID",
        where,
        which,
        "This server keeps no history, so it has no message to delete",
      );
    case "unavailable":
      return session.fail(
        "REDACT",
        "TEMPORARILY_UNAVAILABLE",
        where,
        "The deletion could not be stored, so nothing was deleted; try again later",
      );
  }
}

function invalidTarget(session: IrcSession, target: string): void {
  const where = cut(target, ECHO_BYTES, ECHO_BYTES);
  session.fail("REDACT", "INVALID_TARGET", where, `You cannot delete messages from ${where}`);
}

/** The bytes of the relayed `:mask REDACT target msgid :` and CR LF, before the reason. */
function relayedBytes(session: IrcSession, target: string, msgid: string): number {
  return encoder.encode(`:${maskOf(session)} REDACT ${target} ${msgid} :\r\n`).length;
}

const encoder = new TextEncoder();

/** The most bytes of a client's target or msgid echoed back in a FAIL: its line stays short. */
const ECHO_BYTES = 100;

/**
 * Text cut to at most `chars` characters and `bytes` bytes of UTF-8, never in the middle of a
 * character: a reason to KICKLEN's characters (as a kick's is) and to what lets the relayed
 * line fit whatever the sender's mask.
 */
function cut(text: string, chars: number, bytes: number): string {
  let out = "";
  let used = 0;
  let count = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (count === chars || used + size > bytes) break;
    out += char;
    used += size;
    count++;
  }
  return out;
}

/** The message deletion command, by name. */
export const REDACT_COMMANDS: Record<string, Handler> = { REDACT: redact };
