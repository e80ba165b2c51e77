/**
 * The terminal: lines typed by the user (node:readline) and lines printed above the prompt.
 * When a line arrives from the server while the user is typing, it is printed on the
 * prompt's row and the prompt is redrawn below it with the half-typed text intact.
 * On a pipe there is no prompt: every printed line is just a line.
 *
 * @module
 */
import process from "node:process";
import * as readline from "node:readline";
import { escapeControls } from "../chat/terminal_text.ts";

/**
 * Line input and output for the client, on a terminal or a pipe.
 *
 * @example On a pipe: no prompt, every printed line just a line
 * ```ts
 * import assert from "node:assert/strict";
 * import { Screen } from "./_screen.ts";
 *
 * const screen = new Screen(false);
 * assert.equal(screen.interactive, false);
 * screen.prompt("#lobby> "); // shows nothing: nobody is typing
 * screen.print("12:00:00 [#lobby] <ann> hello"); // one line on standard output
 * screen.close();
 * ```
 */
export class Screen {
  /** True on a terminal: prompt, line editing, redraws. */
  readonly interactive: boolean;
  #rl: readline.Interface;
  #prompting = false;
  #closed = false;

  /**
   * Starts reading standard input; on a terminal, with line editing and a prompt.
   *
   * @param interactive Whether standard input is a terminal.
   */
  constructor(interactive: boolean) {
    this.interactive = interactive;
    this.#rl = readline.createInterface({
      input: process.stdin,
      output: interactive ? process.stdout : undefined,
      terminal: interactive,
    });
    // Ctrl-C ends the input like Ctrl-D does, so the client quits politely.
    this.#rl.on("SIGINT", () => this.#rl.close());
    // The prompt goes (with any unsent text); lines that arrive while the client quits are
    // printed without one.
    this.#rl.on("close", () => {
      if (this.#prompting) {
        readline.clearLine(process.stdout, 0);
        readline.cursorTo(process.stdout, 0);
      }
      this.#closed = true;
      this.#prompting = false;
    });
  }

  /**
   * Prints a line above the prompt.
   *
   * @param line The line, without a line break.
   */
  print(line: string): void {
    if (!this.#prompting) {
      process.stdout.write(`${line}\n`);
      return;
    }
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    process.stdout.write(`${line}\n`);
    this.#rl.prompt(true);
  }

  /**
   * Shows (or replaces) the prompt on a terminal; nothing on a pipe.
   *
   * @param text The prompt; it names a channel the server chose, so its control characters
   * are shown escaped.
   */
  prompt(text: string): void {
    if (!this.interactive || this.#closed) return;
    this.#rl.setPrompt(escapeControls(text));
    this.#prompting = true;
    this.#rl.prompt(true);
  }

  /**
   * Every line typed or piped in, ending with the input (or Ctrl-C / Ctrl-D).
   *
   * @param erase Remove each typed line from a terminal once entered (the client prints
   * its own rendering of it instead).
   * @returns The lines.
   */
  async *lines(erase: boolean): AsyncIterableIterator<string> {
    for await (const line of this.#rl) {
      if (this.interactive && erase) {
        readline.moveCursor(process.stdout, 0, -1);
        readline.clearLine(process.stdout, 0);
      }
      yield line;
    }
  }

  /** Stops reading input and leaves the terminal as it was. */
  close(): void {
    this.#rl.close();
  }
}
