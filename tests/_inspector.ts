/**
 * A minimal Chrome DevTools Protocol client for a child process started with
 * `--inspect=127.0.0.1:0`: enough to stop it at a line of one of its scripts, read a local
 * variable there and let it go on. Tests use it to hold two processes at the two sides of a
 * race, so an interleaving that the scheduler produces once in thousands of runs happens
 * every time.
 */
import type { Child } from "./_helpers.ts";
import { waitUntil } from "./_helpers.ts";

/** The TCP ports a process listens on, from its socket descriptors and /proc/PID/net/tcp. */
function listeningPorts(pid: number): number[] {
  const sockets = new Set<string>();
  for (const fd of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      const socket = Deno.readLinkSync(`/proc/${pid}/fd/${fd.name}`).match(/^socket:\[(\d+)\]$/);
      if (socket) sockets.add(socket[1]);
    } catch {
      continue; // closed meanwhile
    }
  }
  const LISTEN = "0A";
  return Deno.readTextFileSync(`/proc/${pid}/net/tcp`).split("\n").slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === LISTEN && sockets.has(fields[9]))
    .map((fields) => parseInt(fields[1].split(":")[1], 16));
}

/** Where a child stopped: its top call frame. */
export interface Pause {
  callFrameId: string;
}

/** A debugger session with one child process. */
export class Inspector {
  readonly #socket: WebSocket;
  readonly #scripts = new Map<string, string>();
  readonly #replies = new Map<number, (message: Record<string, unknown>) => void>();
  readonly #pauses: Pause[] = [];
  #onPause: (() => void) | undefined;
  #nextId = 1;

  private constructor(socket: WebSocket) {
    this.#socket = socket;
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data);
      if (message.id !== undefined) {
        this.#replies.get(message.id)?.(message);
        this.#replies.delete(message.id);
      } else if (message.method === "Debugger.scriptParsed") {
        this.#scripts.set(message.params.url, message.params.scriptId);
      } else if (message.method === "Debugger.paused") {
        this.#pauses.push({ callFrameId: message.params.callFrames[0].callFrameId });
        this.#onPause?.();
      }
    };
  }

  /**
   * Connects to a child's inspector and enables its debugger (Linux: the child is quiet, so
   * its port is found through /proc).
   *
   * @param child A child started with `--inspect=127.0.0.1:0`.
   * @returns The session; close it when done.
   */
  static async attach(child: Child): Promise<Inspector> {
    let ports: number[] = [];
    await waitUntil(
      () => (ports = listeningPorts(child.process.pid)).length > 0,
      10_000,
      "the child's inspector to listen",
    );
    const response = await fetch(`http://127.0.0.1:${ports[0]}/json/list`);
    const [target]: { webSocketDebuggerUrl: string }[] = await response.json();
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error("Cannot connect to the child's inspector"));
    });
    const inspector = new Inspector(socket);
    await inspector.#call("Debugger.enable");
    return inspector;
  }

  #call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    this.#socket.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`No reply to ${method} within 10 s`)),
        10_000,
      );
      this.#replies.set(id, (message) => {
        clearTimeout(timer);
        if (message.error) reject(new Error(`${method} failed: ${JSON.stringify(message.error)}`));
        else resolve(message.result as Record<string, unknown>);
      });
    });
  }

  /**
   * Sets a breakpoint on the one line of a loaded script (as the child runs it: types
   * stripped) that matches `code`, or `below` lines under it.
   *
   * @param file The script's path from the repository root, e.g. `src/ipc/room.ts`.
   * @param code Matches exactly one line of it.
   * @param below How many lines under that line to stop instead.
   * @returns The breakpoint's id.
   */
  async breakAt(file: string, code: RegExp, below = 0): Promise<string> {
    const url = [...this.#scripts.keys()].find((url) => url.endsWith(`/${file}`));
    if (url === undefined) throw new Error(`The child has not loaded ${file}`);
    const scriptId = this.#scripts.get(url)!;
    const { scriptSource } = await this.#call("Debugger.getScriptSource", { scriptId });
    const lines = (scriptSource as string).split("\n");
    const found = lines.flatMap((line, i) => code.test(line) ? [i] : []);
    if (found.length !== 1) throw new Error(`${found.length} lines of ${file} contain ${code}`);
    const location = { scriptId, lineNumber: found[0] + below };
    const { breakpointId } = await this.#call("Debugger.setBreakpoint", { location });
    return breakpointId as string;
  }

  /**
   * Waits until the child stops (at a breakpoint).
   *
   * @param timeoutMs The limit.
   * @returns Where it stopped.
   */
  async paused(timeoutMs = 10_000): Promise<Pause> {
    if (this.#pauses.length === 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve, reject) => {
        this.#onPause = resolve;
        timer = setTimeout(() => reject(new Error(`No pause within ${timeoutMs} ms`)), timeoutMs);
      }).finally(() => clearTimeout(timer));
    }
    return this.#pauses.shift()!;
  }

  /**
   * The value of an expression in the frame where the child stopped.
   *
   * @param pause Where it stopped.
   * @param expression E.g. a local variable's name.
   * @returns Its value.
   */
  async evaluate(pause: Pause, expression: string): Promise<unknown> {
    const { result } = await this.#call("Debugger.evaluateOnCallFrame", {
      callFrameId: pause.callFrameId,
      expression,
    });
    return (result as { value: unknown }).value;
  }

  /**
   * Removes a breakpoint.
   *
   * @param id What {@link Inspector.breakAt} returned.
   */
  async clear(id: string): Promise<void> {
    await this.#call("Debugger.removeBreakpoint", { breakpointId: id });
  }

  /** Lets the stopped child go on. */
  async resume(): Promise<void> {
    await this.#call("Debugger.resume");
  }

  /** Ends the session (the child runs on). */
  async close(): Promise<void> {
    if (this.#socket.readyState === WebSocket.CLOSED) return;
    const closed = new Promise((resolve) => this.#socket.onclose = resolve);
    this.#socket.close();
    await closed;
  }
}
