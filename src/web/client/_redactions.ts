/**
 * Deleting messages (IRCv3 `draft/message-redaction`): a `REDACT <target> <msgid>`, live or
 * in history (right after the message's `[deleted]` placeholder), shows its message as
 * deleted — its text, previews, reactions and buttons gone, "Message deleted" in their place,
 * and the replies that quote it say so too. A deletion that comes before its message (a
 * message loaded later, with older history) waits for it. The delete button (🗑) is on one's
 * own messages and, for a channel's operators, on everyone's in the channel; it asks first,
 * then sends `REDACT`; what the server refuses is said in the conversation.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { nickOf } from "../../irc/message.ts";
import type { IrcMessage } from "../../irc/message.ts";
import type { Conversation, Conversations } from "./_conversations.ts";
import { fillQuote } from "./_message_view.ts";

/** What deleting needs from the connection. */
export interface RedactionLink {
  /** Sends one IRC line; false when there is no connection to send it on. */
  send(line: string): boolean;
  /** Whether the server deletes messages (`draft/message-redaction` granted). */
  enabled(): boolean;
  /** Whether a nick is ours (this device or another of the account). */
  isSelf(nick: string): boolean;
}

/** A deletion: who deleted, and why. */
interface Deletion {
  by: string;
  reason: string;
}

/** The deletions of one page. */
export class Redactions {
  readonly #conversations: Conversations;
  readonly #link: RedactionLink;
  /** Deletions of messages not shown (yet), by folded conversation name and msgid. */
  readonly #waiting = new Map<string, Deletion>();

  /**
   * No deletions yet.
   *
   * @param conversations The page's conversations.
   * @param link The connection.
   */
  constructor(conversations: Conversations, link: RedactionLink) {
    this.#conversations = conversations;
    this.#link = link;
  }

  /**
   * A `REDACT` from the server (live, an echo of ours, or from history).
   *
   * @param conversation The conversation it is in.
   * @param m The line.
   */
  received(conversation: Conversation, m: IrcMessage): void {
    const msgid = m.params[1];
    if (!msgid) return;
    const deletion = { by: nickOf(m.source), reason: m.params[2] ?? "" };
    const li = this.#find(conversation, msgid);
    if (li) this.#show(conversation, li, deletion);
    else this.#waiting.set(`${foldCase(conversation.name)} ${msgid}`, deletion);
  }

  /**
   * A message was just put in its log: shown deleted if its deletion came first.
   *
   * @param conversation Where.
   * @param li The message.
   */
  render(conversation: Conversation, li: HTMLElement): void {
    const key = `${foldCase(conversation.name)} ${li.dataset.msgid}`;
    const deletion = this.#waiting.get(key);
    if (deletion === undefined) return;
    this.#waiting.delete(key);
    this.#show(conversation, li, deletion);
  }

  /**
   * The user asked to delete a message: after a confirmation, `REDACT` is sent; the message
   * shows deleted once the server says it is.
   *
   * @param conversation Where.
   * @param li The message.
   */
  ask(conversation: Conversation, li: HTMLElement): void {
    const msgid = li.dataset.msgid;
    if (!msgid) return;
    if (!this.#link.enabled()) {
      this.#conversations.system(conversation, "This server cannot delete messages", "error");
      return;
    }
    const nick = li.dataset.nick ?? "";
    const whose = this.#link.isSelf(nick) ? "your message" : "this message";
    const text = li.querySelector(".text")?.textContent ?? "";
    const shown = text.length > 80 ? `${text.slice(0, 79)}…` : text;
    if (!confirm(`Delete ${whose} for everyone?\n\n“${shown}”`)) return;
    if (!this.#link.send(`REDACT ${conversation.name} ${msgid}`)) {
      this.#conversations.system(
        conversation,
        "Not connected: the message was not deleted",
        "error",
      );
      return;
    }
    li.classList.add("deleting");
  }

  /**
   * A `FAIL REDACT`: the message stays, and the reason is shown.
   *
   * @param m The line.
   */
  refused(m: IrcMessage): void {
    const [, , target, msgid] = m.params;
    const conversation = this.#conversations.get(target ?? "") ?? this.#conversations.current;
    if (conversation && msgid) this.#find(conversation, msgid)?.classList.remove("deleting");
    this.#conversations.system(
      conversation,
      `The message was not deleted: ${m.params.at(-1) ?? "the server refused"}`,
      "error",
    );
  }

  #find(conversation: Conversation, msgid: string): HTMLElement | null {
    return conversation.log.querySelector<HTMLElement>(
      `li.msg[data-msgid="${CSS.escape(msgid)}"]`,
    );
  }

  #show(conversation: Conversation, li: HTMLElement, deletion: Deletion): void {
    li.classList.remove("deleting");
    li.classList.add("deleted");
    // Its buttons go: the focus, if one had it, stays on the message.
    if (li !== document.activeElement && li.contains(document.activeElement)) li.focus();
    for (const part of li.querySelectorAll(".previews, .actions, .picker, .reactions")) {
      part.remove();
    }
    const sender = li.dataset.nick ?? "";
    const by = foldCase(deletion.by) === sender || deletion.by === "" ? "" : ` by ${deletion.by}`;
    const text = li.querySelector(".text");
    if (text) {
      text.textContent = `Message deleted${by}${deletion.reason ? `: ${deletion.reason}` : ""}`;
    }
    const msgid = li.dataset.msgid ?? "";
    for (
      const reply of conversation.log.querySelectorAll<HTMLElement>(
        `li[data-reply="${CSS.escape(msgid)}"]`,
      )
    ) {
      fillQuote(conversation.log, reply);
    }
  }
}
