/**
 * The numbered menu of the fourth seed (send to all, private message, list users, view
 * history, change name, quit), with what accounts add (reply to a message, mark the channel
 * read): a small state machine that turns the answers to its prompts into the same actions
 * the slash commands produce.
 *
 * @module
 */
import { type Action, channelName, InputError, isValidNick, type MessageRef } from "./input.ts";

type Step = "choose" | "say" | "to" | "text" | "reply" | "answer" | "history" | "nick";

/**
 * The menu's choices, in order.
 *
 * @example Numbered from 1, as the menu shows them
 * ```ts
 * import assert from "node:assert/strict";
 * import { Menu, MENU_CHOICES } from "./menu.ts";
 *
 * assert.equal(MENU_CHOICES.length, 8);
 * assert.equal(MENU_CHOICES.at(-1), "Quit");
 * assert.equal(new Menu(() => "#lobby").lines[7], "  8) Quit");
 * ```
 */
export const MENU_CHOICES: readonly string[] = [
  "Send a message to everyone in the channel",
  "Send a private message",
  "Reply to a message",
  "List users",
  "View history",
  "Mark the channel as read",
  "Change name",
  "Quit",
];

/**
 * Asks, step by step, for what the chosen operation needs.
 *
 * @example Send a private message through the menu; a bad answer starts over
 * ```ts
 * import assert from "node:assert/strict";
 * import { InputError } from "./input.ts";
 * import { Menu } from "./menu.ts";
 *
 * const menu = new Menu(() => "#lobby");
 * assert.deepEqual(menu.input("2"), { kind: "nothing" }); // private message
 * assert.equal(menu.prompt, "send to (nick)> ");
 * assert.deepEqual(menu.input("ann"), { kind: "nothing" });
 * assert.equal(menu.prompt, "message to ann> ");
 * assert.deepEqual(menu.input("hello ann"), { kind: "msg", target: "ann", text: "hello ann" });
 * assert.ok(menu.choosing);
 * menu.input("3"); // reply
 * menu.input(""); // to the last message
 * assert.deepEqual(menu.input("me too"), { kind: "reply", to: { back: 1 }, text: "me too" });
 * menu.input("7"); // change name
 * assert.throws(() => menu.input("9lives"), InputError);
 * assert.ok(menu.choosing);
 * assert.deepEqual(menu.input("8"), { kind: "quit" });
 * ```
 */
export class Menu {
  #step: Step = "choose";
  #to = "";
  #answering: MessageRef = { back: 1 };
  readonly #current: () => string | undefined;

  /**
   * Makes a menu waiting for a choice.
   *
   * @param current The session's current channel, for prompts and defaults.
   */
  constructor(current: () => string | undefined) {
    this.#current = current;
  }

  /** The menu, one line per choice. */
  get lines(): string[] {
    return MENU_CHOICES.map((label, i) => `  ${i + 1}) ${label}`);
  }

  /** The prompt for the current step. */
  get prompt(): string {
    const prompts: Record<Step, () => string> = {
      choose: () => `choose 1-${MENU_CHOICES.length} (Enter shows the menu)> `,
      say: () => `message to ${this.#current() ?? "the channel"}> `,
      to: () => "send to (nick)> ",
      text: () => `message to ${this.#to}> `,
      reply: () => "reply to (Enter or 1 for the last message, 2 the one before, or a nick)> ",
      answer: () => "your reply> ",
      history: () => `history of (channel or nick, Enter for ${this.#current() ?? "#lobby"})> `,
      nick: () => "new name> ",
    };
    return prompts[this.#step]();
  }

  /** Whether the menu waits for a choice (rather than for an answer to a question). */
  get choosing(): boolean {
    return this.#step === "choose";
  }

  /**
   * Takes one answer.
   *
   * @param line What was entered.
   * @returns The action to carry out ("nothing" while more answers are needed; "help" asks
   * to show the menu).
   * @throws {InputError} For an answer that cannot be used; the menu starts over.
   */
  input(line: string): Action {
    const answer = line.trim();
    const step = this.#step;
    this.#step = "choose";
    switch (step) {
      case "choose":
        return this.#choose(answer);
      case "say":
        return answer ? { kind: "say", text: line } : { kind: "nothing" };
      case "to":
        if (!isValidNick(answer)) throw new InputError(`"${answer}" is not a valid nick`);
        this.#to = answer;
        this.#step = "text";
        return { kind: "nothing" };
      case "text":
        return answer ? { kind: "msg", target: this.#to, text: line } : { kind: "nothing" };
      case "reply":
        if (answer === "" || /^[1-9]\d*$/.test(answer)) {
          this.#answering = { back: answer === "" ? 1 : Number(answer) };
        } else if (isValidNick(answer)) {
          this.#answering = { nick: answer };
        } else {
          throw new InputError(`"${answer}" is neither a number nor a nick`);
        }
        this.#step = "answer";
        return { kind: "nothing" };
      case "answer":
        return answer ? { kind: "reply", to: this.#answering, text: line } : { kind: "nothing" };
      case "history": {
        if (!answer) return { kind: "history" };
        return { kind: "history", target: isValidNick(answer) ? answer : channelName(answer) };
      }
      case "nick":
        if (!isValidNick(answer)) throw new InputError(`"${answer}" is not a valid nick`);
        return { kind: "nick", nick: answer };
    }
  }

  #choose(answer: string): Action {
    switch (answer) {
      case "":
        return { kind: "help" };
      case "1":
        this.#step = "say";
        return { kind: "nothing" };
      case "2":
        this.#step = "to";
        return { kind: "nothing" };
      case "3":
        this.#step = "reply";
        return { kind: "nothing" };
      case "4":
        return { kind: "who" };
      case "5":
        this.#step = "history";
        return { kind: "nothing" };
      case "6":
        return { kind: "markread" };
      case "7":
        this.#step = "nick";
        return { kind: "nothing" };
      case "8":
        return { kind: "quit" };
      default:
        throw new InputError(`"${answer}" is not on the menu: choose 1 to ${MENU_CHOICES.length}`);
    }
  }
}
