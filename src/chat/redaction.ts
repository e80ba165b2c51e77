/**
 * Who may delete which message (IRCv3 `draft/message-redaction`): its sender — an account from
 * any of its devices, a guest only what it sent on this connection —, a channel's operators
 * and the server's operators any message in a channel; a private message only its sender.
 *
 * The message ids shmooze gives are guessable (a start time, a pid and a counter), so a
 * refusal never tells a stranger that a message exists: whoever cannot read a conversation
 * hears of no message in it.
 *
 * @module
 */
import { foldCase } from "./casemap.ts";
import type { HistoryOwner, HistoryStore, LocatedMessage } from "./history.ts";

/**
 * Why a deletion is refused, as the spec's FAIL codes say it: the asker cannot delete anything
 * in that conversation (`invalid-target`: a channel it is not in), there is no such message in
 * it that the asker may know of (`unknown-msgid`: never sent there, pruned, already deleted, or
 * not a PRIVMSG, NOTICE or stored TAGMSG), or it is someone else's (`forbidden`).
 */
export type RedactRefusal = "invalid-target" | "unknown-msgid" | "forbidden";

/** Who asks to delete a message. */
export interface Redactor {
  /** The account it is logged in to, with its creation time; none for a guest. */
  owner?: HistoryOwner;
  /** The ids of the messages it sent on this connection while it had no account. */
  sentAsGuest: ReadonlySet<string>;
}

/** The conversation a REDACT names: a channel, or the other party of a private one. */
export type RedactScope =
  | {
    /** The channel's folded name. */
    channel: string;
    /** Whether the asker is in it. */
    member: boolean;
    /** Whether it may delete anyone's message there (a channel or server operator). */
    moderator: boolean;
  }
  | {
    /** The other party's nick, as the REDACT names it. */
    partner: string;
  };

/**
 * Finds the message a REDACT deletes, if the asker may delete it.
 *
 * @param history Where messages are stored.
 * @param redactor Who asks.
 * @param scope The conversation the REDACT names.
 * @param msgid The id of the message to delete.
 * @returns The message, or why the deletion is refused.
 *
 * @example ann deletes her own message; bob may not, but a channel operator may
 * ```ts
 * import assert from "node:assert/strict";
 * import { HistoryStore } from "./history.ts";
 * import { findRedactable } from "./redaction.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const history = HistoryStore.open(dir);
 * history.append({
 *   msgid: "m1",
 *   time: Date.now(),
 *   sender: "ann",
 *   senderMask: "ann!ann@h",
 *   senderAccount: "ann",
 *   target: "#team",
 *   command: "PRIVMSG",
 *   text: "oops",
 * });
 * const inTeam = { channel: "#team", member: true, moderator: false };
 * const ann = { owner: { account: "ANN" }, sentAsGuest: new Set<string>() };
 * const bob = { owner: { account: "bob" }, sentAsGuest: new Set<string>() };
 * assert.equal(typeof findRedactable(history, ann, inTeam, "m1"), "object");
 * assert.equal(findRedactable(history, bob, inTeam, "m1"), "forbidden");
 * assert.equal(typeof findRedactable(history, bob, { ...inTeam, moderator: true }, "m1"), "object");
 * assert.equal(findRedactable(history, bob, { ...inTeam, member: false }, "m1"), "invalid-target");
 * assert.equal(findRedactable(history, ann, inTeam, "m2"), "unknown-msgid");
 * assert.equal(findRedactable(history, ann, { partner: "bob" }, "m1"), "unknown-msgid");
 * history.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function findRedactable(
  history: HistoryStore,
  redactor: Redactor,
  scope: RedactScope,
  msgid: string,
): LocatedMessage | RedactRefusal {
  const found = history.locate(msgid);
  const own = found !== undefined && isOwn(found, msgid, redactor);
  if ("channel" in scope) {
    if (!scope.member && !scope.moderator && !own) return "invalid-target";
    if (found === undefined || found.channel !== scope.channel || found.redacted) {
      return "unknown-msgid";
    }
    return own || scope.moderator ? found : "forbidden";
  }
  if (found === undefined || found.channel !== undefined || found.redacted) return "unknown-msgid";
  const { owner } = redactor;
  const inConversation = (own && foldCase(found.target) === foldCase(scope.partner)) ||
    (owner !== undefined && history.ownsPrivate({ ...owner, partner: scope.partner }, found.id));
  if (!inConversation) return "unknown-msgid";
  return own ? found : "forbidden";
}

/**
 * Whether the asker sent the message: from its account (one created before the message, not
 * an earlier account of the same name), or on this connection as a guest.
 */
function isOwn(found: LocatedMessage, msgid: string, redactor: Redactor): boolean {
  if (redactor.sentAsGuest.has(msgid)) return true;
  const { owner } = redactor;
  return owner !== undefined && found.senderAccount !== undefined &&
    foldCase(found.senderAccount) === foldCase(owner.account) && found.time >= (owner.since ?? 0);
}
