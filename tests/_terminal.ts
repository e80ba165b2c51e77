/**
 * A real terminal for tests: tmux runs a command in a detached session on a private socket,
 * the test types with `send-keys` and reads the screen with `capture-pane`. Beside it, a tap
 * that records the IRC lines a terminal client exchanges with the server.
 */
import { ROOT, uniqueName, waitUntil } from "./_helpers.ts";

/**
 * Whether a program runs here: tests that need a client from Debian are skipped without it.
 *
 * @param command The program and the arguments that make it print its version and exit.
 * @returns True when it ran and exited with status 0.
 */
export function programAvailable(command: string[]): boolean {
  try {
    return new Deno.Command(command[0], { args: command.slice(1), stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

/** Whether tmux is installed (terminal tests are skipped without it). */
export const tmuxAvailable: boolean = programAvailable(["tmux", "-V"]);

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
      // No configuration file: a ~/.tmux.conf could change the terminal type, and so the
      // colours and keys a test sees.
      args: ["-L", this.#socket, "-f", "/dev/null", ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!output.success) {
      throw new Error(`tmux ${args[0]} failed: ${new TextDecoder().decode(output.stderr)}`);
    }
    return new TextDecoder().decode(output.stdout);
  }

  /**
   * The screen and its scroll-back, trailing blank lines removed.
   *
   * @param options `escapes`: keep the escape sequences that set colours and attributes
   *   (for what a program shows only by colour). @default {false}
   * @returns The text.
   */
  async screen(options: { escapes?: boolean } = {}): Promise<string> {
    const escapes = options.escapes ? ["-e"] : [];
    return (await this.#tmux("capture-pane", "-p", ...escapes, "-S", "-500", "-t", this.#session))
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

  /**
   * Ends the terminal and waits until the program in it has exited: a client killed by the
   * hang-up may still be writing its files (weechat saves its configuration on the way out),
   * and the test removes their directory next. One that outlives 5 s is killed.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    const group = Number(
      await this.#tmux("display-message", "-p", "-t", this.#session, "#{pane_pid}").catch(() => ""),
    );
    const members = group > 0 ? processGroup(group) : [];
    await this.#tmux("kill-server").catch(() => {});
    const gone = () => members.every((pid) => !running(pid));
    try {
      await waitUntil(gone, 5_000, "the terminal's program to exit after the hang-up");
    } catch {
      for (const pid of members) if (running(pid)) Deno.kill(pid, "SIGKILL");
      await waitUntil(gone, 5_000, "the terminal's program to exit after SIGKILL");
    }
  }
}

/** The pids in a process group (the pane's shell leads one; the program runs in it). */
function processGroup(group: number): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const fields = statFields(Number(entry.name));
    if (fields !== undefined && Number(fields[2]) === group) pids.push(Number(entry.name));
  }
  return pids;
}

/** Whether a process runs (a zombie, waiting to be reaped, no longer does). */
function running(pid: number): boolean {
  const fields = statFields(pid);
  return fields !== undefined && fields[0] !== "Z";
}

/** The fields of /proc/PID/stat after the command name: state, ppid, pgrp, … */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/**
 * A relay on a free loopback port between a terminal client and the server that keeps every
 * line each way: what a real client sent, which its screen does not show, and what it was
 * answered. The server sees the client come from 127.0.0.1 as without the tap.
 */
export class IrcTap implements AsyncDisposable {
  /** Lines the client sent, in order. */
  readonly sent: string[] = [];
  /** Lines the server sent the client, in order. */
  readonly received: string[] = [];
  /** The port to point the client at. */
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #connections = new Set<Deno.Conn>();
  readonly #pumps: Promise<void>[] = [];
  readonly #accepting: Promise<void>;

  private constructor(serverPort: number) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.port = this.#listener.addr.port;
    this.#accepting = this.#accept(serverPort);
  }

  /**
   * Listens on a free port and relays every connection to the server.
   *
   * @param serverPort The server's port on 127.0.0.1.
   * @returns The tap.
   */
  static start(serverPort: number): IrcTap {
    return new IrcTap(serverPort);
  }

  /**
   * Waits until the client has sent a line that matches.
   *
   * @param pattern The line.
   * @param timeoutMs How long to wait.
   * @returns The first such line.
   */
  waitForSent(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return this.#waitFor(this.sent, "sent", pattern, timeoutMs);
  }

  /**
   * Waits until the server has sent the client a line that matches.
   *
   * @param pattern The line.
   * @param timeoutMs How long to wait.
   * @returns The first such line.
   */
  waitForReceived(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    return this.#waitFor(this.received, "received", pattern, timeoutMs);
  }

  async #waitFor(
    lines: string[],
    what: string,
    pattern: RegExp,
    timeoutMs: number,
  ): Promise<string> {
    try {
      await waitUntil(() => lines.some((line) => pattern.test(line)), timeoutMs, `${pattern}`);
    } catch (error) {
      const tail = lines.slice(-20).map((line) => `  ${line}`).join("\n");
      throw new Error(`${(error as Error).message}; the client ${what}:\n${tail}`);
    }
    return lines.find((line) => pattern.test(line))!;
  }

  async #accept(serverPort: number): Promise<void> {
    try {
      for await (const client of this.#listener) {
        this.#connections.add(client);
        const server = await Deno.connect({ hostname: "127.0.0.1", port: serverPort });
        this.#connections.add(server);
        this.#pumps.push(this.#pump(client, server, this.sent));
        this.#pumps.push(this.#pump(server, client, this.received));
      }
    } catch {
      // The listener was closed by dispose while a connection was being set up.
    }
  }

  async #pump(from: Deno.Conn, to: Deno.Conn, lines: string[]): Promise<void> {
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(16 * 1024);
    let pending = "";
    try {
      while (true) {
        const count = await from.read(buffer);
        if (count === null) break;
        for (let written = 0; written < count;) {
          written += await to.write(buffer.subarray(written, count));
        }
        pending += decoder.decode(buffer.subarray(0, count), { stream: true });
        const parts = pending.split(/\r?\n/);
        pending = parts.pop()!;
        lines.push(...parts);
      }
    } catch {
      // One side hung up or dispose closed it: the relay ends either way.
    }
    // Whichever side ended first, the other is closed so its pump ends too.
    for (const conn of [from, to]) {
      try {
        conn.close();
      } catch {
        // Already closed.
      }
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#accepting;
    for (const conn of this.#connections) {
      try {
        conn.close();
      } catch {
        // Already closed by its pump.
      }
    }
    await Promise.all(this.#pumps);
  }
}
