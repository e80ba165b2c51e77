/**
 * The page's `draft/chathistory` requests and the batches that answer them: the latest
 * messages of a conversation when it is joined or opened, older ones when the user scrolls
 * back (`CHATHISTORY BEFORE`, from the oldest message shown, keeping what is on screen where
 * it was), the messages around one a search found (`CHATHISTORY AROUND`, then `AFTER` to
 * fill the gap up to the newer ones shown, when the user asks), and the private chats an
 * account had (`CHATHISTORY TARGETS`) on a device that knows none. The server answers one connection's requests in order, so each target's
 * requests wait in a queue for their batches.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { isChannelName } from "../../chat/names.ts";
import type { IrcMessage } from "../../irc/message.ts";
import type { Conversation, Conversations } from "./_conversations.ts";
import type { HistoryMessage } from "./_outbox.ts";

/** How many messages to ask for at a time, at most (the server may allow fewer). */
export const HISTORY_PAGE = 100;
/** How far back `TARGETS` looks for private chats. */
const TARGETS_DAYS = 365;

/** What the history asks of the connection and tells the page. */
export interface HistoryLink {
  /** Sends one IRC line. */
  send(line: string): void;
  /** The most messages the server gives in one answer (ISUPPORT `CHATHISTORY`). */
  pageSize(): number;
  /** The latest messages of a conversation have arrived, oldest first. */
  latest(target: string, messages: HistoryMessage[]): void;
}

/** A request waiting for its batch. */
interface Request {
  kind: "latest" | "before" | "around" | "after";
  limit: number;
  /** For `around`: called once the messages are in the log. */
  then?: () => void;
}

/** A batch being received. */
interface Batch {
  type: "chathistory" | "targets";
  target: string;
  request: Request | undefined;
  messages: HistoryMessage[];
  /** Every message of the batch, reactions included: the server's limit counts them all. */
  count: number;
  /** For `before`: how far the log was from its bottom, kept while lines go in above. */
  fromBottom: number;
  /** For `targets`: the private chats found. */
  targets: string[];
  /** The time of its newest message (ms), -Infinity while none. */
  newest: number;
  /** The list item of its last message so far (the next one goes after it). */
  last?: HTMLElement;
}

/** The history requests of one connection. */
export class History {
  readonly #conversations: Conversations;
  readonly #link: HistoryLink;
  #queues = new Map<string, Request[]>();
  #batches = new Map<string, Batch>();

  /**
   * No requests yet.
   *
   * @param conversations The page's conversations.
   * @param link The connection.
   */
  constructor(conversations: Conversations, link: HistoryLink) {
    this.#conversations = conversations;
    this.#link = link;
  }

  /** A new connection: nothing asked on the old one will be answered. */
  reset(): void {
    this.#queues = new Map();
    this.#batches = new Map();
  }

  #ask(target: string, request: Request, line: string): void {
    const key = foldCase(target);
    const queue = this.#queues.get(key) ?? [];
    queue.push(request);
    this.#queues.set(key, queue);
    this.#link.send(line);
  }

  /**
   * Asks for a conversation's latest messages.
   *
   * @param conversation The channel or private chat.
   */
  latest(conversation: Conversation): void {
    const limit = Math.min(HISTORY_PAGE, this.#link.pageSize());
    this.#ask(
      conversation.name,
      { kind: "latest", limit },
      `CHATHISTORY LATEST ${conversation.name} * ${limit}`,
    );
  }

  /**
   * Asks for the messages before the oldest one shown, unless a request is under way or the
   * start of the history has been reached.
   *
   * @param conversation The channel or private chat.
   */
  older(conversation: Conversation): void {
    if (conversation.olderState !== "more") return;
    const oldest = conversation.log.querySelector<HTMLElement>("li.msg[data-msgid]");
    if (!oldest) return;
    this.#setOlder(conversation, "loading");
    const limit = Math.min(HISTORY_PAGE, this.#link.pageSize());
    this.#ask(
      conversation.name,
      { kind: "before", limit },
      `CHATHISTORY BEFORE ${conversation.name} msgid=${oldest.dataset.msgid} ${limit}`,
    );
  }

  /**
   * Asks for the messages around one (a search result), to show it in its conversation.
   *
   * @param conversation The channel or private chat.
   * @param msgid The message.
   * @param then Called once they are in the log.
   */
  around(conversation: Conversation, msgid: string, then: () => void): void {
    const limit = Math.min(HISTORY_PAGE, this.#link.pageSize());
    this.#ask(
      conversation.name,
      { kind: "around", limit, then },
      `CHATHISTORY AROUND ${conversation.name} msgid=${msgid} ${limit}`,
    );
  }

  /** Asks which private chats the account had in the last year. */
  targets(): void {
    const now = Date.now();
    const from = new Date(now + 86_400_000).toISOString();
    const to = new Date(now - TARGETS_DAYS * 86_400_000).toISOString();
    this.#link.send(`CHATHISTORY TARGETS timestamp=${from} timestamp=${to} 50`);
  }

  /**
   * A `BATCH` line: a history batch starts or ends.
   *
   * @param m The line.
   * @returns The private chats a `TARGETS` batch found, when one ended; otherwise none.
   */
  batch(m: IrcMessage): string[] {
    const [reference, type, target] = m.params;
    const ref = reference.slice(1);
    if (reference[0] === "+") {
      if (type === "chathistory") this.#start(ref, target);
      else if (type === "draft/chathistory-targets") {
        this.#batches.set(ref, {
          type: "targets",
          target: "",
          request: undefined,
          messages: [],
          count: 0,
          fromBottom: 0,
          targets: [],
          newest: -Infinity,
        });
      }
      return [];
    }
    const batch = this.#batches.get(ref);
    if (reference[0] !== "-" || !batch) return [];
    this.#batches.delete(ref);
    if (batch.type === "targets") return batch.targets;
    this.#end(batch);
    return [];
  }

  /**
   * The history batch a line belongs to, if any.
   *
   * @param m The line.
   * @returns Whether it is part of a history answer.
   */
  inBatch(m: IrcMessage): boolean {
    const ref = m.tags.batch;
    return ref !== undefined && this.#batches.has(ref);
  }

  /**
   * Counts a message of a history batch, and keeps a PRIVMSG for the outbox's check of what
   * arrived.
   *
   * @param m The line, in a batch.
   * @param nick Its sender.
   */
  collect(m: IrcMessage, nick: string): void {
    const batch = this.#batches.get(m.tags.batch ?? "");
    if (!batch) return;
    batch.count++;
    if (m.tags.time) batch.newest = Math.max(batch.newest, Date.parse(m.tags.time));
    if (m.command === "PRIVMSG") {
      batch.messages.push({ msgid: m.tags.msgid ?? "", nick, text: m.params[1] ?? "" });
    }
  }

  /**
   * The line before a message in its history batch, which it follows in the log.
   *
   * @param m A message of a batch.
   * @returns The list item of the batch's previous message, if any.
   */
  previous(m: IrcMessage): HTMLElement | undefined {
    return this.#batches.get(m.tags.batch ?? "")?.last;
  }

  /**
   * A message of a batch is in the log (or was already): the next one goes after it.
   *
   * @param m The message.
   * @param li Its list item, if it is shown.
   */
  follow(m: IrcMessage, li: HTMLElement | undefined): void {
    const batch = this.#batches.get(m.tags.batch ?? "");
    if (batch && li) batch.last = li;
  }

  /**
   * A `CHATHISTORY TARGETS` line in its batch: a private chat to offer.
   *
   * @param m The line.
   */
  target(m: IrcMessage): void {
    const batch = this.#batches.get(m.tags.batch ?? "");
    const target = m.params[1];
    if (batch?.type === "targets" && target && !isChannelName(target)) {
      batch.targets.push(target);
    }
  }

  /**
   * The server refused a request (`FAIL CHATHISTORY …`): it is answered, by nothing.
   *
   * @param m The FAIL line.
   * @returns Whether it was a `LATEST`, which the outbox was waiting for.
   */
  failed(m: IrcMessage): boolean {
    const [, , sub, target] = m.params;
    if (!target || !["LATEST", "BEFORE", "AROUND", "AFTER"].includes(sub)) return false;
    const request = this.#queues.get(foldCase(target))?.shift();
    const conversation = this.#conversations.get(target);
    if (conversation && request?.kind === "before") this.#setOlder(conversation, "more");
    if (conversation && request?.kind === "after") this.#gapAfter(conversation, -Infinity);
    return request?.kind === "latest";
  }

  #start(ref: string, target: string): void {
    const request = this.#queues.get(foldCase(target))?.shift();
    const log = this.#conversations.get(target)?.log;
    this.#batches.set(ref, {
      type: "chathistory",
      target,
      request,
      messages: [],
      count: 0,
      fromBottom: log ? log.scrollHeight - log.scrollTop : 0,
      targets: [],
      newest: -Infinity,
    });
  }

  #end(batch: Batch): void {
    const conversation = this.#conversations.get(batch.target);
    const request = batch.request;
    if (conversation && (request?.kind === "around" || request?.kind === "after")) {
      // The messages of a window may not reach the newer ones already shown: a gap, marked.
      const full = batch.count >= request.limit && batch.newest > -Infinity;
      this.#gapAfter(conversation, full ? batch.newest : -Infinity);
      request.then?.();
      return;
    }
    if (conversation && request) {
      const more = batch.count >= request.limit;
      if (request.kind === "before") {
        const log = conversation.log;
        log.scrollTop = log.scrollHeight - batch.fromBottom;
        this.#setOlder(conversation, more ? "more" : "none");
      } else if (conversation.olderState === "unknown" || !more) {
        this.#setOlder(conversation, more ? "more" : "none");
      }
    }
    if (request === undefined || request.kind === "latest") {
      if (conversation) conversation.historyLoaded = true;
      this.#link.latest(batch.target, batch.messages);
    }
  }

  /**
   * Marks a gap after the newest message of a window (when newer messages are shown past
   * it), with a button that loads what is missing; -Infinity takes the mark away.
   */
  #gapAfter(conversation: Conversation, newest: number): void {
    const { log } = conversation;
    log.querySelector("li.gap")?.remove();
    const later = [...log.querySelectorAll<HTMLElement>("li.msg[data-msgid]")]
      .filter((li) => Number(li.dataset.time) > newest);
    const last = [...log.querySelectorAll<HTMLElement>("li.msg[data-msgid]")]
      .filter((li) => Number(li.dataset.time) <= newest).at(-1);
    if (newest === -Infinity || later.length === 0 || !last) return;
    const gap = document.createElement("li");
    gap.className = "gap";
    gap.dataset.time = String(newest + 0.25);
    const button = document.createElement("button");
    button.type = "button";
    button.className = "plain";
    button.textContent = "Load the messages in between";
    button.addEventListener("click", () => {
      button.disabled = true;
      button.textContent = "Loading…";
      const limit = Math.min(HISTORY_PAGE, this.#link.pageSize());
      this.#ask(
        conversation.name,
        { kind: "after", limit },
        `CHATHISTORY AFTER ${conversation.name} msgid=${last.dataset.msgid} ${limit}`,
      );
    });
    gap.appendChild(button);
    log.insertBefore(gap, later[0]);
  }

  #setOlder(conversation: Conversation, state: Conversation["olderState"]): void {
    conversation.olderState = state;
    const { older } = conversation;
    const button = older.querySelector("button")!;
    older.hidden = state === "unknown";
    older.classList.toggle("start", state === "none");
    button.hidden = state === "none";
    button.disabled = state === "loading";
    button.textContent = state === "loading" ? "Loading older messages…" : "Load older messages";
    older.querySelector(".start-text")?.remove();
    if (state === "none") {
      const text = document.createElement("span");
      text.className = "start-text muted";
      text.textContent = "Start of the conversation";
      older.appendChild(text);
    }
  }
}
