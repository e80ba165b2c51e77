/**
 * `shmooze demo`: teaching demos of the mechanisms shmooze is built on. Today the relay of
 * seed 003, where client processes pass a numbered message around through one shared
 * memory segment, each woken in turn by its own named semaphore.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { IpcError } from "../ipc/ipc_error.ts";
import { Relay, RELAY_MAX_CLIENTS, RELAY_MAX_ROUNDS, type RelayTurn } from "../ipc/relay.ts";
import { CliError, intOption, parseCommandArgs, stringOption, UsageError } from "./_args.ts";
import type { Command } from "./command.ts";
import { paint } from "./logging.ts";

/** The hidden demo each relay client process runs: `shmooze demo relay-client …`. */
const RELAY_CLIENT = "relay-client";

/** Exit code after Ctrl-C, as shells report a SIGINT death (128 + 2). */
const EXIT_INTERRUPTED = 130;

const help = `Usage: shmooze demo relay [--clients N] [--rounds R]

Teaching demos of the operating-system mechanisms shmooze is built on.

  relay   The round-robin of seed 003: N client processes pass a numbered message around
          through one shared memory segment ({packet_no, srcClientNo, destClientNo,
          message[1024]}), woken in turn by one named semaphore each. Client N starts; each
          client sends to the other clients in ascending order, in turn (for 3 clients the
          seed's table: client 1 → 2, 3, 2 …; client 2 → 1, 3, 1 …; client 3 → 1, 2, 1 …).
          Each prints what it received from whom and where it sends next; at the end the
          demo checks that every packet arrived once and in order, prints PASS or FAIL, and
          removes every OS object it made (also after Ctrl-C).

Options:
  --clients N    Client processes, 2 to ${RELAY_MAX_CLIENTS} (default: 3)
  --rounds R     Rounds, 1 to ${RELAY_MAX_ROUNDS}; R × N packets in all (default: 5)

Exit codes: 0 PASS, 1 FAIL or a client failed, 2 a mistake on the command line, 130 Ctrl-C.

Examples:
  shmooze demo relay
  shmooze demo relay --clients 5 --rounds 2`;

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** One line per turn, in the seed's words. */
function describeTurn({ client, received, sent }: RelayTurn): string {
  const who = paint("bold", `client ${client}:`);
  if (received === undefined) {
    return `${who} starts the relay and sends packet 0 to client ${sent!.to}`;
  }
  const got = `received packet ${received.packet} from client ${received.from}: ` +
    `"${received.message}"`;
  return sent === undefined
    ? `${who} ${got}; that was the last packet, so it tells everyone to stop`
    : `${who} ${got}; sends packet ${sent.packet} to client ${sent.to}`;
}

/**
 * How to start this same program again with other arguments: the compiled executable is
 * shmooze itself; under `deno run`, the executable is deno and needs the script.
 */
function selfCommand(args: string[]): Deno.Command {
  const runtimeArgs = Deno.build.standalone ? [] : [
    "run",
    "--quiet",
    "--no-prompt",
    "--allow-ffi",
    "--allow-env",
    "--allow-read",
    fileURLToPath(new URL("../../main.ts", import.meta.url)),
  ];
  return new Deno.Command(Deno.execPath(), {
    args: [...runtimeArgs, ...args],
    stdin: "null",
    // The clients print straight to our stdout: only the one whose turn it is prints, and
    // before it wakes the next, so lines appear in the relay's true order.
    stdout: "inherit",
    stderr: "inherit",
  });
}

/** Spawns the client processes, or explains the missing permission. */
function spawnClients(relay: Relay): Deno.ChildProcess[] {
  const children: Deno.ChildProcess[] = [];
  try {
    for (let client = 1; client <= relay.clients; client++) {
      const args = ["demo", RELAY_CLIENT, "--label", relay.label, "--client", String(client)];
      children.push(selfCommand(args).spawn());
    }
  } catch (error) {
    for (const child of children) child.kill("SIGKILL");
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new CliError("The relay demo needs --allow-run to start its client processes");
    }
    throw error;
  }
  return children;
}

function killAll(children: Deno.ChildProcess[]): void {
  for (const child of children) {
    try {
      child.kill("SIGTERM");
    } catch { /* it has exited already */ }
  }
}

async function runRelay(args: string[]): Promise<number> {
  const { values } = parseCommandArgs("demo relay", args, {
    clients: { type: "string", short: "n" },
    rounds: { type: "string", short: "r" },
  });
  const clients = intOption(values, "clients", 3, { min: 2, max: RELAY_MAX_CLIENTS });
  const rounds = intOption(values, "rounds", 5, { min: 1, max: RELAY_MAX_ROUNDS });
  const relay = Relay.create(String(Deno.pid), clients, rounds);
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  let children: Deno.ChildProcess[] = [];
  try {
    children = spawnClients(relay);
    console.log(
      `relay: ${clients} client processes pass ${relay.packets} packets (${
        plural(rounds, "round")
      }) ` +
        `through one shared memory segment and ${clients} turn semaphores`,
    );
    // A client that fails leaves the others waiting for a turn that never comes: stop them,
    // and blame only the first, not the ones stopped because of it.
    let firstFailure: string | undefined;
    const exits = children.map((child, i) =>
      child.status.then((status) => {
        if (status.success || firstFailure !== undefined) return;
        firstFailure = status.signal === null
          ? `client ${i + 1} exited with code ${status.code}`
          : `client ${i + 1} was killed by ${status.signal}`;
        killAll(children);
      })
    );
    stop.signal.addEventListener("abort", () => killAll(children));
    const started = relay.start({ timeoutMs: 5_000 + 1_000 * clients, signal: stop.signal });
    const failedStart = await started.then(() => undefined, (error: unknown) => {
      killAll(children);
      return error;
    });
    await Promise.all(exits);
    if (stop.signal.aborted) {
      console.log("interrupted: the relay was stopped and its OS objects removed");
      return EXIT_INTERRUPTED;
    }
    if (failedStart !== undefined) throw failedStart;
    const result = relay.check();
    if (result.ok && firstFailure === undefined) {
      console.log(
        paint(
          "green",
          `PASS: all ${result.expected} packets arrived once and in order ` +
            `(${clients} clients × ${plural(rounds, "round")})`,
        ),
      );
      return 0;
    }
    const problems = [...result.problems];
    if (firstFailure !== undefined) problems.unshift(firstFailure);
    console.log(
      paint(
        "red",
        `FAIL: ${result.arrived} of ${result.expected} packets arrived; ${problems.join("; ")}`,
      ),
    );
    return 1;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    killAll(children);
    await Promise.all(children.map((child) => child.status));
    relay.destroy();
  }
}

/** The hidden client side: one process plays one client of a relay another process made. */
async function runRelayClient(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(`demo ${RELAY_CLIENT}`, args, {
    label: { type: "string" },
    client: { type: "string" },
  });
  const label = stringOption(values, "label", "");
  if (label === "") throw new UsageError(`demo ${RELAY_CLIENT}: --label is required`);
  const client = intOption(values, "client", 0, { min: 1, max: RELAY_MAX_CLIENTS });
  const relay = Relay.open(label);
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  // Ctrl-C reaches every process of the terminal's group: stop waiting and close the
  // handles; the demo process removes the objects.
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    await relay.runClient(client, {
      signal: stop.signal,
      onTurn: (turn) => console.log(describeTurn(turn)),
    });
    return 0;
  } catch (error) {
    if (error instanceof IpcError && error.code === "ECANCELED") return EXIT_INTERRUPTED;
    throw error;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    relay.close();
  }
}

/**
 * `shmooze demo`: teaching demos (today: the relay of seed 003).
 *
 * @example Two client processes pass two packets: PASS, exit code 0
 * ```ts
 * import assert from "node:assert/strict";
 * import { demoCommand } from "./demo.ts";
 *
 * assert.equal(await demoCommand.run(["relay", "--clients", "2", "--rounds", "1"]), 0);
 * await assert.rejects(demoCommand.run([]), { message: "demo: name a demo: relay" });
 * await assert.rejects(demoCommand.run(["relay", "--clients", "1"]), /--clients must be/);
 * ```
 */
export const demoCommand: Command = {
  name: "demo",
  summary: "Run a teaching demo (relay: the round-robin of seed 003)",
  help,
  async run(args) {
    const [which, ...rest] = args;
    if (which === "relay") return await runRelay(rest);
    if (which === RELAY_CLIENT) return await runRelayClient(rest);
    throw new UsageError(
      which === undefined ? "demo: name a demo: relay" : `demo: unknown demo "${which}"; try relay`,
    );
  },
};
