/**
 * irssi (Debian's) for tests: an irssi with a temporary home of its own, connected to one
 * server, in a tmux terminal the test types into and reads.
 */
import { programAvailable, Terminal, tmuxAvailable } from "./_terminal.ts";

/** Whether irssi and tmux are installed (irssi tests are skipped without them). */
export const irssiAvailable: boolean = tmuxAvailable && programAvailable(["irssi", "--version"]);

/** An irssi in a terminal, connected to one IRC server. */
export class Irssi implements AsyncDisposable {
  readonly #terminal: Terminal;
  readonly #home: string;

  private constructor(terminal: Terminal, home: string) {
    this.#terminal = terminal;
    this.#home = home;
  }

  /**
   * Starts irssi, connects it to `127.0.0.1:port` as `nick` and waits for the server's
   * welcome.
   *
   * irssi sends the commands it queues (a channel's sync among them) 2.2 s apart once past a
   * burst, reading that setting when it connects, and shows a mode change only after 3 s in
   * case others follow to group with it. A test need not wait for either, so both are set
   * before connecting.
   *
   * @param port The server's port (or a tap's).
   * @param nick The nick.
   * @returns The running irssi.
   */
  static async connect(port: number, nick: string): Promise<Irssi> {
    const home = await Deno.makeTempDir({ prefix: "shmooze-irssi-" });
    let terminal: Terminal | undefined;
    try {
      terminal = await Terminal.run(["irssi", "--home", home, "-n", nick], { TERM: "xterm" });
      await terminal.waitFor("[(status)]", 20_000);
      await terminal.type("/set cmd_queue_speed 0");
      await terminal.type("/set group_multi_mode off");
      await terminal.type(`/connect 127.0.0.1 ${port}`);
      await terminal.waitFor("Welcome to the shmooze IRC network", 20_000);
      return new Irssi(terminal, home);
    } catch (error) {
      await terminal?.[Symbol.asyncDispose]();
      await Deno.remove(home, { recursive: true });
      throw error;
    }
  }

  /**
   * Types a line and presses Enter.
   *
   * @param line A command (`/op bob`) or a message for the current window.
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

  /** Closes the terminal (irssi quits with it) and removes irssi's home. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#terminal[Symbol.asyncDispose]();
    await Deno.remove(this.#home, { recursive: true });
  }
}
