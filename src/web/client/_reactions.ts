/**
 * Reactions: `@+draft/react=👍;+draft/reply=<msgid> TAGMSG <target>`, shown as chips under
 * the message they answer ("👍 2", who reacted in the chip's label), whether they arrive live
 * or in history (the server stores them with the conversation). A reaction to a message not
 * shown yet waits for it (older history loaded later). The picker offers a few emoji; a chip
 * adds one's own reaction to the same emoji.
 *
 * @module
 */
import { foldCase } from "../../chat/casemap.ts";
import { formatMessage } from "../../irc/message.ts";
import type { Conversation } from "./_conversations.ts";
import { append } from "./_dom.ts";
import { isActive } from "./_log_focus.ts";

/** What the picker offers. */
export const REACTIONS: readonly string[] = ["👍", "❤️", "😂", "🎉", "😮", "🙏"];

/** A reaction longer than this (in UTF-16 units) is not shown: it is not an emoji. */
const MAX_REACTION = 32;

/** What reactions need from the connection. */
export interface ReactionLink {
  /** Sends one IRC line; false when there is no connection to send it on. */
  send(line: string): boolean;
  /** Whether a nick is ours (this device or another of the account). */
  isSelf(nick: string): boolean;
  /** Our nick. */
  nick(): string;
}

/** Who reacted with what to one message: by emoji, then folded nick → nick. */
type Tally = Map<string, Map<string, string>>;

/** The reactions of one page. */
export class Reactions {
  readonly #link: ReactionLink;
  /** By folded conversation name and msgid. */
  readonly #tallies = new Map<string, Tally>();

  /**
   * No reactions yet.
   *
   * @param link The connection.
   */
  constructor(link: ReactionLink) {
    this.#link = link;
  }

  /**
   * A reaction arrived (live, echoed or from history); each person counts once per emoji.
   *
   * @param conversation Where.
   * @param msgid The message reacted to.
   * @param emoji The reaction.
   * @param nick Who reacted.
   */
  add(conversation: Conversation, msgid: string, emoji: string, nick: string): void {
    if (!emoji || emoji.length > MAX_REACTION) return;
    const key = `${foldCase(conversation.name)} ${msgid}`;
    const tally = this.#tallies.get(key) ?? new Map();
    this.#tallies.set(key, tally);
    const who = tally.get(emoji) ?? new Map<string, string>();
    tally.set(emoji, who);
    who.set(foldCase(nick), nick);
    const li = conversation.log.querySelector<HTMLElement>(
      `li[data-msgid="${CSS.escape(msgid)}"]`,
    );
    if (li) this.render(conversation, li);
  }

  /**
   * Draws a message's reactions (when it has any).
   *
   * @param conversation Where.
   * @param li The message.
   */
  render(conversation: Conversation, li: HTMLElement): void {
    const msgid = li.dataset.msgid;
    const tally = msgid ? this.#tallies.get(`${foldCase(conversation.name)} ${msgid}`) : undefined;
    if (!tally || li.classList.contains("deleted")) return;
    li.querySelector(".reactions")?.remove();
    const list = document.createElement("div");
    list.className = "reactions";
    list.setAttribute("role", "group");
    list.setAttribute("aria-label", "Reactions");
    const picker = li.querySelector(".picker");
    if (picker) picker.before(list);
    else li.appendChild(list);
    for (const [emoji, who] of tally) {
      const nicks = [...who.values()];
      const mine = nicks.some((nick) => this.#link.isSelf(nick));
      const chip = append(list, "button", "reaction", `${emoji} ${nicks.length}`);
      chip.type = "button";
      chip.tabIndex = isActive(li) ? 0 : -1;
      chip.dataset.emoji = emoji;
      chip.title = nicks.join(", ");
      chip.setAttribute("aria-pressed", String(mine));
      chip.setAttribute("aria-label", `${emoji} from ${nicks.join(", ")}`);
    }
  }

  /**
   * The user reacts to a message: sent, and shown at once (the echo counts once).
   *
   * @param conversation Where.
   * @param li The message.
   * @param emoji The reaction.
   * @returns False when there is no connection to send it on.
   */
  react(conversation: Conversation, li: HTMLElement, emoji: string): boolean {
    const msgid = li.dataset.msgid;
    if (!msgid) return false;
    const line = formatMessage({
      tags: { "+draft/react": emoji, "+draft/reply": msgid },
      command: "TAGMSG",
      params: [conversation.name],
    });
    if (!this.#link.send(line)) return false;
    this.add(conversation, msgid, emoji, this.#link.nick());
    return true;
  }

  /**
   * Opens or closes a message's emoji picker.
   *
   * @param li The message.
   * @param button Its react button.
   */
  togglePicker(li: HTMLElement, button: HTMLElement): void {
    const open = li.querySelector<HTMLElement>(".picker");
    if (open) {
      this.closePicker(li);
      return;
    }
    const picker = append(li, "div", "picker");
    picker.setAttribute("role", "group");
    picker.setAttribute("aria-label", "Pick a reaction");
    for (const emoji of REACTIONS) {
      const choice = append(picker, "button", "plain", emoji);
      choice.type = "button";
      choice.dataset.emoji = emoji;
      choice.setAttribute("aria-label", `React with ${emoji}`);
    }
    button.setAttribute("aria-expanded", "true");
    picker.querySelector("button")!.focus();
  }

  /**
   * Closes a message's emoji picker, if open; the focus goes back to its react button.
   *
   * @param li The message.
   */
  closePicker(li: HTMLElement): void {
    const picker = li.querySelector(".picker");
    if (!picker) return;
    const button = li.querySelector<HTMLElement>(".react-button");
    button?.setAttribute("aria-expanded", "false");
    // Before the picker goes: while the focus is in the message its buttons are displayed,
    // and a button that is not cannot take the focus.
    if (picker.contains(document.activeElement)) button?.focus();
    picker.remove();
  }
}
