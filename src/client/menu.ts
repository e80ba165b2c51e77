/**
 * The numbered menu of the fourth seed (send to all, private message, list users, view
 * history, change name, quit): a small state machine that turns the answers to its prompts
 * into the same actions the slash commands produce.
 *
 * @module
 */
import { type Action, channelName, InputError, isValidNick } from "./input.ts";

type Step = "choose" | "say" | "to" | "text" | "history" | "nick";

/** The menu's choices, in order. */
export const MENU_CHOICES: readonly string[] = [
  "Send a message to everyone in the channel",
  "Send a private message",
  "List users",
  "View history",
  "Change name",
  "Quit",
];

/**
 * Asks, step by step, for what the chosen operation needs.
 *
 * @example Send a private message through the menu
 * ```ts
 * import { Menu } from "./menu.ts";
 * const menu = new Menu(() => "#lobby");
 * menu.input("2");                      // private message
 * console.log(menu.prompt);             // send to (nick)>
 * menu.input("ann");
 * console.log(menu.input("hello ann")); // { kind: "msg", target: "ann", text: "hello ann" }
 * ```
 */
export class Menu {
  #step: Step = "choose";
  #to = "";
  readonly #current: () => string | undefined;

  /**
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
        return { kind: "who" };
      case "4":
        this.#step = "history";
        return { kind: "nothing" };
      case "5":
        this.#step = "nick";
        return { kind: "nothing" };
      case "6":
        return { kind: "quit" };
      default:
        throw new InputError(`"${answer}" is not on the menu: choose 1 to ${MENU_CHOICES.length}`);
    }
  }
}
