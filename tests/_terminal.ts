/**
 * A real terminal for tests: tmux runs a command in a detached session on a private socket,
 * the test types with `send-keys` and reads the screen with `capture-pane`.
 */
import { ROOT, uniqueName, waitUntil } from "./_helpers.ts";

/** Whether tmux is installed (terminal tests are skipped without it). */
export const tmuxAvailable: boolean = (() => {
  try {
    return new Deno.Command("tmux", { args: ["-V"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** A program (usually `shmooze client`) running in a tmux session of its own tmux server. */
export class Terminal implements AsyncDisposable {
  readonly #socket = uniqueName("tmux");
  readonly #session = "client";

  /**
   * Starts `shmooze client ARGS` in a 120×50 terminal, kept on screen after it exits.
   *
   * @param args Arguments after `client`.
   * @param env Extra environment variables for the client.
   * @returns The terminal.
   */
  static start(args: string[], env: Record<string, string> = {}): Promise<Terminal> {
    return Terminal.run(
      [Deno.execPath(), "run", "-A", "--quiet", "main.ts", "client", ...args],
      env,
    );
  }

  /**
   * Starts any program in a 120×50 terminal, kept on screen after it exits.
   *
   * @param command The program and its arguments.
   * @param env Extra environment variables.
   * @returns The terminal.
   */
  static async run(command: string[], env: Record<string, string> = {}): Promise<Terminal> {
    const terminal = new Terminal();
    const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
    const variables = Object.entries({ NO_COLOR: "1", ...env })
      .map(([name, value]) => `${name}=${quote(value)}`).join(" ");
    await terminal.#tmux(
      "new-session",
      "-d",
      "-s",
      terminal.#session,
      "-x",
      "120",
      "-y",
      "50",
      "-c",
      ROOT,
      // The shell prints the exit status on the screen, where the test can read it.
      `env ${variables} ${command.map(quote).join(" ")}; echo "[exit $?]"`,
      ";",
      "set-option",
      "-t",
      terminal.#session,
      "remain-on-exit",
      "on",
    );
    return terminal;
  }

  async #tmux(...args: string[]): Promise<string> {
    const output = await new Deno.Command("tmux", {
      args: ["-L", this.#socket, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return new TextDecoder().decode(output.stdout);
  }

  /** The screen and its scroll-back, trailing blank lines removed. */
  async screen(): Promise<string> {
    return (await this.#tmux("capture-pane", "-p", "-S", "-500", "-t", this.#session))
      .trimEnd();
  }

  /** Types text; `Enter` presses the key. */
  async type(text: string, enter = true): Promise<void> {
    await this.#tmux("send-keys", "-t", this.#session, "-l", text);
    if (enter) await this.#tmux("send-keys", "-t", this.#session, "Enter");
  }

  /** Presses a key by its tmux name, e.g. `C-c`. */
  async press(key: string): Promise<void> {
    await this.#tmux("send-keys", "-t", this.#session, key);
  }

  /** Waits until the screen shows the text (or matches the pattern). */
  async waitFor(expected: string | RegExp, timeoutMs = 10_000): Promise<void> {
    let last = "";
    try {
      await waitUntil(
        async () => {
          last = await this.screen();
          return typeof expected === "string" ? last.includes(expected) : expected.test(last);
        },
        timeoutMs,
        `${expected} on the terminal`,
      );
    } catch (error) {
      throw new Error(`${(error as Error).message}; the screen:\n${last}`);
    }
  }

  /** Waits until the client has exited and returns its exit status. */
  async exitStatus(timeoutMs = 10_000): Promise<number> {
    await this.waitFor(/^\[exit \d+\]$/m, timeoutMs);
    return Number(/^\[exit (\d+)\]$/m.exec(await this.screen())![1]);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#tmux("kill-server").catch(() => {});
  }
}
