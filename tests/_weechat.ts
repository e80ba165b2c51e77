/**
 * weechat (Debian's `weechat-curses`) for tests: a weechat with a temporary home of its own,
 * only its irc plugin and no scripts, connected to one server, in a tmux terminal the test
 * types into and reads.
 *
 * Why the curses weechat in tmux rather than weechat-headless fed through its fifo plugin:
 * the screen is what a user sees (messages, the nick list and its colours), the same driver
 * serves irssi, and the fifo plugin is not in Debian's weechat-core.
 */
import { waitUntil } from "./_helpers.ts";
import { programAvailable, Terminal, tmuxAvailable } from "./_terminal.ts";

/** Whether weechat and tmux are installed (weechat tests are skipped without them). */
export const weechatAvailable: boolean = tmuxAvailable &&
  programAvailable(["weechat", "--version"]);

/** The name weechat knows the server by, in its buffers and status bar. */
export const SERVER = "shmooze";

/** The colour weechat's nick list gives away nicks, set here rather than left to its default. */
export const AWAY_COLOUR = "cyan";

/** Foreground colours by the SGR code tmux writes for them. */
const SGR_COLOURS: Record<string, string> = {
  "": "default",
  "0": "default",
  "30": "black",
  "31": "red",
  "32": "green",
  "33": "brown",
  "34": "blue",
  "35": "magenta",
  "36": "cyan",
  "37": "default",
  "39": "default",
  "90": "gray",
  "91": "lightred",
  "92": "lightgreen",
  "93": "yellow",
  "94": "lightblue",
  "95": "lightmagenta",
  "96": "lightcyan",
  "97": "white",
};

/** A weechat in a terminal, connected (or connecting) to one IRC server. */
export class Weechat implements AsyncDisposable {
  readonly #terminal: Terminal;
  readonly #home: string;

  private constructor(terminal: Terminal, home: string) {
    this.#terminal = terminal;
    this.#home = home;
  }

  /**
   * Starts weechat and connects it to `127.0.0.1:port` without TLS as `nick` (user name the
   * same), with no delay between queued commands; waits for the server's welcome.
   *
   * @param port The server's port (or a tap's).
   * @param nick The nick.
   * @returns The running weechat.
   */
  static async connect(port: number, nick: string): Promise<Weechat> {
    const home = await Deno.makeTempDir({ prefix: "shmooze-weechat-" });
    const commands = [
      // weechat spaces out the commands it queues (MODE and WHO after a JOIN) by 2 s; a test
      // need not wait for that. weechat 4 replaced the two settings with one: each version
      // takes its own and reports the others as unknown.
      "/set irc.server_default.anti_flood_prio_high 0",
      "/set irc.server_default.anti_flood_prio_low 0",
      "/set irc.server_default.anti_flood 0",
      "/set irc.server_default.autoreconnect off",
      `/set weechat.color.nicklist_away ${AWAY_COLOUR}`,
      `/server add ${SERVER} 127.0.0.1/${port} -notls -nicks=${nick} -username=${nick}` +
      ` -realname=${nick}`,
      `/connect ${SERVER}`,
    ];
    let terminal: Terminal | undefined;
    try {
      terminal = await Terminal.run([
        "weechat",
        "--dir",
        home,
        "--plugins",
        "irc",
        "--no-script",
        "--run-command",
        commands.join(";"),
      ]);
      const weechat = new Weechat(terminal, home);
      await weechat.waitFor("Welcome to the shmooze IRC network", 20_000);
      return weechat;
    } catch (error) {
      await terminal?.[Symbol.asyncDispose]();
      await Deno.remove(home, { recursive: true });
      throw error;
    }
  }

  /**
   * Types a line and presses Enter.
   *
   * @param line A command (`/op bob`) or a message for the current buffer.
   */
  type(line: string): Promise<void> {
    return this.#terminal.type(line);
  }

  /** The screen as text. */
  screen(): Promise<string> {
    return this.#terminal.screen();
  }

  /**
   * Waits until the screen shows the text (or matches the pattern).
   *
   * @param expected The text or pattern.
   * @param timeoutMs How long to wait.
   */
  waitFor(expected: string | RegExp, timeoutMs = 10_000): Promise<void> {
    return this.#terminal.waitFor(expected, timeoutMs);
  }

  /**
   * The colour weechat gives a nick in the nick list (the bar right of the last `│` on each
   * line), as weechat names colours, or undefined when the nick list does not show it.
   *
   * @param nick The nick, as shown after its prefix.
   * @returns The colour name.
   */
  async nicklistColour(nick: string): Promise<string | undefined> {
    const screen = await this.#terminal.screen({ escapes: true });
    for (const line of screen.split("\n")) {
      const bar = line.slice(line.lastIndexOf("│") + 1);
      let colour: string | undefined;
      // Walk the bar's text and escapes, remembering the last foreground colour set.
      // deno-lint-ignore no-control-regex
      for (const [, code, text] of bar.matchAll(/\x1b\[([0-9;]*)m|([^\x1b]+)/g)) {
        if (code !== undefined) {
          for (const part of code.split(";")) colour = SGR_COLOURS[part] ?? colour;
          continue;
        }
        const word = text.trim();
        if (word === "" || word === "@" || word === "+") continue;
        if (word.replace(/^[@+]/, "") === nick) return colour;
        break;
      }
    }
    return undefined;
  }

  /**
   * Waits until the nick list shows the nick in the colour.
   *
   * @param nick The nick.
   * @param colour The colour, as weechat names it.
   * @param timeoutMs How long to wait.
   */
  async waitForNicklistColour(nick: string, colour: string, timeoutMs = 10_000): Promise<void> {
    let last: string | undefined;
    try {
      await waitUntil(
        async () => (last = await this.nicklistColour(nick)) === colour,
        timeoutMs,
        `${nick} in ${colour} in the nick list`,
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message} (it is ${last ?? "not there"}); the screen:\n${await this
          .screen()}`,
      );
    }
  }

  /** Closes the terminal (weechat quits with it) and removes weechat's home. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#terminal[Symbol.asyncDispose]();
    await Deno.remove(this.#home, { recursive: true });
  }
}
