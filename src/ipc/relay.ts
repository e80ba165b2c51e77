// Over 600 lines: about half is documentation and runnable examples; the code is ~330 lines.
/**
 * The round-robin relay of seed 003, for any number of clients: client processes pass one
 * numbered message around through one shared memory segment that holds the seed's
 * `struct Memory { packet_no, srcClientNo, destClientNo, message[1024] }`, each sending it
 * on to the next client of its own rotation.
 *
 * Synchronisation: one named semaphore per client, its "turn". The seed has every client
 * spin on `destClientNo` until it names them, and takes one shared semaphore around the
 * read-and-write. Spinning burns a CPU per waiting client, and the unlocked read of
 * `destClientNo` races with the writer (a compiler may even hoist it out of the loop). Here a
 * client sleeps in the kernel on its own semaphore until the holder of the message posts it:
 * nobody uses CPU while waiting, only the client that was named wakes (no thundering herd),
 * and the post/wait pair is also the memory barrier that makes the written packet visible
 * to the woken client. No lock is needed around the record, because exactly one client — the
 * one whose turn it is — touches it at any time.
 *
 * @module
 */

import { IpcError } from "./ipc_error.ts";
import { unlinkIfPresent } from "./_unlink.ts";
import { NamedSemaphore } from "./named_semaphore.ts";
import { objectName } from "./names.ts";
import { SharedMemory } from "./shared_memory.ts";

/**
 * The seed's message buffer: `char message[1024]`, NUL-terminated.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RELAY_MESSAGE_BYTES, relayMessage } from "./relay.ts";
 *
 * assert.equal(RELAY_MESSAGE_BYTES, 1024);
 * assert.ok(relayMessage(9_999, 64).length < RELAY_MESSAGE_BYTES);
 * ```
 */
export const RELAY_MESSAGE_BYTES = 1024;

/**
 * Most clients one relay can have.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "./ipc_error.ts";
 * import { Relay, RELAY_MAX_CLIENTS } from "./relay.ts";
 *
 * const label = `doc-max-${crypto.randomUUID().slice(0, 8)}`;
 * assert.throws(
 *   () => Relay.create(label, RELAY_MAX_CLIENTS + 1, 1),
 *   (error) => error instanceof IpcError && error.code === "EINVAL",
 * );
 * ```
 */
export const RELAY_MAX_CLIENTS = 64;

/**
 * Most rounds one relay can run (a round is one hop per client).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { IpcError } from "./ipc_error.ts";
 * import { Relay, RELAY_MAX_ROUNDS } from "./relay.ts";
 *
 * const label = `doc-rounds-${crypto.randomUUID().slice(0, 8)}`;
 * assert.throws(
 *   () => Relay.create(label, 2, RELAY_MAX_ROUNDS + 1),
 *   (error) => error instanceof IpcError && error.code === "EINVAL",
 * );
 * ```
 */
export const RELAY_MAX_ROUNDS = 10_000;

/** "SZRL" (shmooze relay) read as a little-endian word. */
const MAGIC = 0x4c52_5a53;
const VERSION = 1;

// Header (bytes).
const H_MAGIC = 0;
const H_VERSION = 4;
const H_CLIENTS = 8;
const H_PACKETS = 12;
const H_DONE = 16;
const H_ARRIVALS = 20;
// The seed's struct Memory.
const M_PACKET_NO = 32; // int
const M_SRC = 36; // unsigned short srcClientNo
const M_DEST = 38; // unsigned short destClientNo
const M_MESSAGE = 40; // char message[1024]
// The arrival log: one { packet u32, from u16, to u16 } per received packet, for the check.
const LOG = M_MESSAGE + RELAY_MESSAGE_BYTES;
const LOG_ENTRY = 8;

/** One packet's trip from one client to the next. */
export interface RelayHop {
  /** The packet number, from 0. */
  packet: number;
  /** The client that sent it. */
  from: number;
  /** The client it was sent to. */
  to: number;
}

/** What a client did on its turn, for {@link RelayClientOptions.onTurn}. */
export interface RelayTurn {
  /** The client whose turn it was. */
  client: number;
  /** What it received; undefined for the initiator's first send. */
  received?: RelayHop & { message: string };
  /** Where it sent the next packet; undefined when it received the last one. */
  sent?: RelayHop;
}

/** Options for {@link Relay.runClient}. */
export interface RelayClientOptions {
  /**
   * Called on each of the client's turns, before the next client is woken, so whatever it
   * prints appears in the relay's true order.
   */
  onTurn?: (turn: RelayTurn) => void;
  /**
   * Give up when the turn does not come within this many milliseconds (a peer died).
   * @default {10000}
   */
  turnTimeoutMs?: number;
  /** Stop waiting when this signal aborts. */
  signal?: AbortSignal;
}

/** Result of {@link Relay.check}. */
export interface RelayCheck {
  /** True when every packet arrived once, in order, where the route says. */
  ok: boolean;
  /** Packets logged as received. */
  arrived: number;
  /** Packets the relay was to pass. */
  expected: number;
  /** What was wrong, one sentence each (empty when ok). */
  problems: string[];
}

/**
 * Where a client sends its `sent`-th message: the other clients in ascending order, in
 * turn. For three clients this is the seed's table — client 1: 2, 3, 2 …; client 2: 1, 3,
 * 1 …; client 3: 1, 2, 1 … (`2 + i % 2`, `1 + 2 * (i % 2)`, `1 + i % 2`).
 *
 * @param client The sender, 1 to `clients`.
 * @param sent How many messages it has sent before this one.
 * @param clients How many clients there are (at least 2).
 * @returns The destination client.
 *
 * @example The seed's client 2
 * ```ts
 * import assert from "node:assert/strict";
 * import { relayDestination } from "./relay.ts";
 *
 * assert.deepEqual([0, 1, 2, 3].map((i) => relayDestination(2, i, 3)), [1, 3, 1, 3]);
 * ```
 */
export function relayDestination(client: number, sent: number, clients: number): number {
  const k = sent % (clients - 1);
  return k + 1 < client ? k + 1 : k + 2;
}

/**
 * The hops a relay makes when every client follows {@link relayDestination}: client
 * `clients` (the initiator) sends packet 0 to client 1, and whoever receives packet `p`
 * sends packet `p + 1`.
 *
 * @param clients How many clients (at least 2).
 * @param packets How many packets.
 * @returns The hops, packet 0 first.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relayRoute } from "./relay.ts";
 *
 * assert.deepEqual(relayRoute(3, 3).map((h) => `${h.from}→${h.to}`), ["3→1", "1→2", "2→1"]);
 * ```
 */
export function relayRoute(clients: number, packets: number): RelayHop[] {
  const sent = new Array<number>(clients + 1).fill(0);
  const hops: RelayHop[] = [];
  let holder = clients;
  for (let packet = 0; packet < packets; packet++) {
    const to = relayDestination(holder, sent[holder]++, clients);
    hops.push({ packet, from: holder, to });
    holder = to;
  }
  return hops;
}

/**
 * The text of a packet, as the seed words it.
 *
 * @param packet The packet number.
 * @param from The sending client.
 * @returns `This is message P from client C`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { relayMessage } from "./relay.ts";
 *
 * assert.equal(relayMessage(0, 3), "This is message 0 from client 3");
 * ```
 */
export function relayMessage(packet: number, from: number): string {
  return `This is message ${packet} from client ${from}`;
}

function segmentName(label: string): string {
  return objectName("relay", label);
}

function turnName(label: string, client: number): string {
  return objectName("relay", `${label}-turn${client}`);
}

/** The relay's semaphores: "ready" first, then each client's turn. */
function semaphoreNames(label: string, clients: number): string[] {
  const names = [objectName("relay", `${label}-ready`)];
  for (let client = 1; client <= clients; client++) names.push(turnName(label, client));
  return names;
}

function relayError(action: string, label: string, reason: string): IpcError {
  return new IpcError(action, "Relay", "EINVAL", 0, { objectName: segmentName(label), reason });
}

/**
 * One relay's OS objects: the shared segment and a turn semaphore per client. The process
 * that {@link Relay.create}s it removes them with {@link Relay.destroy}; each client process
 * {@link Relay.open}s it and runs {@link Relay.runClient}.
 *
 * @example Three clients in one process (the demo runs each in its own)
 * ```ts
 * import assert from "node:assert/strict";
 * import { Relay } from "./relay.ts";
 *
 * const relay = Relay.create(`doc-${crypto.randomUUID().slice(0, 8)}`, 3, 2);
 * const clients = [1, 2, 3].map((client) => relay.runClient(client));
 * await Promise.all([relay.start(), ...clients]);
 * assert.deepEqual(relay.check(), { ok: true, arrived: 6, expected: 6, problems: [] });
 * relay.destroy();
 * ```
 */
export class Relay {
  readonly #shm: SharedMemory;
  readonly #view: DataView;
  readonly #turns: NamedSemaphore[];
  readonly #ready: NamedSemaphore;
  readonly #owner: boolean;
  /** The label that names the relay's objects. */
  readonly label: string;
  /** How many clients take part. */
  readonly clients: number;
  /** How many packets are passed in all (rounds × clients). */
  readonly packets: number;

  private constructor(
    label: string,
    shm: SharedMemory,
    semaphores: NamedSemaphore[],
    owner: boolean,
  ) {
    this.label = label;
    this.#shm = shm;
    this.#view = new DataView(shm.buffer);
    this.#ready = semaphores[0];
    this.#turns = semaphores.slice(1);
    this.#owner = owner;
    this.clients = this.#view.getUint32(H_CLIENTS, true);
    this.packets = this.#view.getUint32(H_PACKETS, true);
  }

  /**
   * Creates a relay's segment and semaphores.
   *
   * @param label Names the objects (`shmooze-<uid>-relay-<label>`); unique per run.
   * @param clients How many clients, 2 to {@link RELAY_MAX_CLIENTS}.
   * @param rounds How many rounds, 1 to {@link RELAY_MAX_ROUNDS}: each client sends once
   * per round on average, `rounds × clients` packets in all.
   * @returns The relay; call {@link Relay.destroy} when done.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Relay } from "./relay.ts";
   *
   * const relay = Relay.create(`doc-create-${crypto.randomUUID().slice(0, 8)}`, 3, 5);
   * assert.equal(relay.clients, 3);
   * assert.equal(relay.packets, 15); // 5 rounds of 3 hops
   * relay.destroy();
   * ```
   */
  static create(label: string, clients: number, rounds: number): Relay {
    if (!Number.isInteger(clients) || clients < 2 || clients > RELAY_MAX_CLIENTS) {
      throw relayError(
        "create relay",
        label,
        `a relay needs 2 to ${RELAY_MAX_CLIENTS} clients, not ${clients}`,
      );
    }
    if (!Number.isInteger(rounds) || rounds < 1 || rounds > RELAY_MAX_ROUNDS) {
      throw relayError(
        "create relay",
        label,
        `a relay runs 1 to ${RELAY_MAX_ROUNDS} rounds, not ${rounds}`,
      );
    }
    const packets = clients * rounds;
    const shm = SharedMemory.create(segmentName(label), LOG + packets * LOG_ENTRY);
    const semaphores: NamedSemaphore[] = [];
    try {
      for (const name of semaphoreNames(label, clients)) {
        semaphores.push(NamedSemaphore.create(name, 0));
      }
    } catch (error) {
      for (const semaphore of semaphores) {
        semaphore.close();
        NamedSemaphore.unlink(semaphore.name);
      }
      shm.close();
      SharedMemory.unlink(shm.name);
      throw error;
    }
    const view = new DataView(shm.buffer);
    view.setUint32(H_VERSION, VERSION, true);
    view.setUint32(H_CLIENTS, clients, true);
    view.setUint32(H_PACKETS, packets, true);
    view.setInt32(M_PACKET_NO, -1, true);
    view.setUint32(H_MAGIC, MAGIC, true);
    return new Relay(label, shm, semaphores, true);
  }

  /**
   * Opens a relay another process created.
   *
   * @param label The label it was created with.
   * @returns The relay.
   * @throws {IpcError} `ENOENT` when it does not exist, `EBADMAGIC` when the segment is not
   * a relay.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Relay } from "./relay.ts";
   *
   * const made = Relay.create(`doc-open-${crypto.randomUUID().slice(0, 8)}`, 2, 1);
   * const opened = Relay.open(made.label);
   * assert.equal(opened.clients, 2);
   * assert.equal(opened.packets, 2);
   * opened.close();
   * made.destroy();
   * ```
   */
  static open(label: string): Relay {
    const shm = SharedMemory.open(segmentName(label));
    const view = new DataView(shm.buffer);
    if (shm.size < LOG || view.getUint32(H_MAGIC, true) !== MAGIC) {
      shm.close();
      throw new IpcError("open relay", "Relay", "EBADMAGIC", 0, {
        objectName: shm.name,
        reason: "it is not a shmooze relay segment",
      });
    }
    const clients = view.getUint32(H_CLIENTS, true);
    const semaphores: NamedSemaphore[] = [];
    try {
      for (const name of semaphoreNames(label, clients)) {
        semaphores.push(NamedSemaphore.open(name));
      }
    } catch (error) {
      for (const semaphore of semaphores) semaphore.close();
      shm.close();
      throw error;
    }
    return new Relay(label, shm, semaphores, false);
  }

  #send(client: number, packet: number, to: number): RelayHop {
    const view = this.#view;
    view.setInt32(M_PACKET_NO, packet, true);
    view.setUint16(M_SRC, client, true);
    view.setUint16(M_DEST, to, true);
    const message = this.#shm.bytes.subarray(M_MESSAGE, M_MESSAGE + RELAY_MESSAGE_BYTES);
    const { written } = new TextEncoder().encodeInto(
      relayMessage(packet, client),
      message.subarray(0, RELAY_MESSAGE_BYTES - 1),
    );
    message[written] = 0;
    return { packet, from: client, to };
  }

  #receive(client: number): RelayHop & { message: string } {
    const view = this.#view;
    const hop = {
      packet: view.getInt32(M_PACKET_NO, true),
      from: view.getUint16(M_SRC, true),
      to: view.getUint16(M_DEST, true),
    };
    const bytes = this.#shm.bytes.subarray(M_MESSAGE, M_MESSAGE + RELAY_MESSAGE_BYTES);
    const end = bytes.indexOf(0);
    const message = new TextDecoder().decode(bytes.subarray(0, end === -1 ? bytes.length : end));
    if (hop.to !== client || message !== relayMessage(hop.packet, hop.from)) {
      throw relayError(
        "relay a packet",
        this.label,
        `client ${client} was woken for packet ${hop.packet} addressed to client ${hop.to} ` +
          `with the text "${message}"`,
      );
    }
    const arrivals = view.getUint32(H_ARRIVALS, true);
    if (arrivals < this.packets) {
      const entry = LOG + arrivals * LOG_ENTRY;
      view.setUint32(entry, hop.packet, true);
      view.setUint16(entry + 4, hop.from, true);
      view.setUint16(entry + 6, hop.to, true);
    }
    view.setUint32(H_ARRIVALS, arrivals + 1, true);
    return { ...hop, message };
  }

  /**
   * Waits until every client has said it is ready (so nobody's start-up counts against a
   * turn's time limit), then gives the initiator — client `clients` — the first turn.
   *
   * @param options `timeoutMs` for all clients to be ready (default 30000) and a signal.
   * @throws {IpcError} `ETIMEDOUT` naming how many clients joined, or `ECANCELED`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Relay } from "./relay.ts";
   *
   * const relay = Relay.create(`doc-start-${crypto.randomUUID().slice(0, 8)}`, 2, 1);
   * await Promise.all([relay.start(), relay.runClient(1), relay.runClient(2)]);
   * assert.equal(relay.check().ok, true);
   * relay.destroy();
   * ```
   */
  async start(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    const deadline = Date.now() + (options.timeoutMs ?? 30_000);
    for (let joined = 0; joined < this.clients; joined++) {
      const timeoutMs = Math.max(0, deadline - Date.now());
      if (!(await this.#ready.wait({ timeoutMs, signal: options.signal }))) {
        throw this.#stopped(
          options.signal,
          this.#ready.name,
          `only ${joined} of ${this.clients} clients were ready within ${
            options.timeoutMs ?? 30_000
          } ms`,
          "the relay was stopped before it started",
        );
      }
    }
    this.#turns[this.clients - 1].post();
  }

  /** The error for a wait that ended without its semaphore: aborted or timed out. */
  #stopped(
    signal: AbortSignal | undefined,
    name: string,
    timedOut: string,
    aborted: string,
  ): IpcError {
    const wasAborted = signal?.aborted === true;
    return new IpcError("relay a packet", "Relay", wasAborted ? "ECANCELED" : "ETIMEDOUT", 0, {
      objectName: name,
      reason: wasAborted ? aborted : timedOut,
    });
  }

  /**
   * Plays one client until the last packet has been received: says it is ready, waits for
   * its turn, reads the packet, and sends the next one where {@link relayDestination} says.
   * Client `clients` sends packet 0 when {@link Relay.start} gives it the first turn. The
   * client that receives the last packet wakes everyone so they return too.
   *
   * @param client Which client to play, 1 to {@link Relay.clients}.
   * @param options A callback per turn, a time limit per turn and an abort signal.
   * @throws {IpcError} `ETIMEDOUT` when a turn does not come in time, `ECANCELED` when
   * aborted, `EINVAL` when woken for a packet that is not this client's.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Relay, type RelayTurn } from "./relay.ts";
   *
   * const relay = Relay.create(`doc-run-${crypto.randomUUID().slice(0, 8)}`, 2, 1);
   * const log: string[] = [];
   * const onTurn = ({ client, sent }: RelayTurn) => log.push(`${client}:${sent?.packet ?? "end"}`);
   * await Promise.all([
   *   relay.start(),
   *   relay.runClient(1, { onTurn }),
   *   relay.runClient(2, { onTurn }),
   * ]);
   * // Client 2 starts with packet 0; client 1 sends packet 1 back; client 2 receives the last.
   * assert.deepEqual(log, ["2:0", "1:1", "2:end"]);
   * relay.destroy();
   * ```
   */
  async runClient(client: number, options: RelayClientOptions = {}): Promise<void> {
    if (!Number.isInteger(client) || client < 1 || client > this.clients) {
      throw relayError(
        "join relay",
        this.label,
        `the client number must be 1 to ${this.clients}, not ${client}`,
      );
    }
    const timeoutMs = options.turnTimeoutMs ?? 10_000;
    const view = this.#view;
    let sent = 0;
    const sendNext = (packet: number) =>
      this.#send(client, packet, relayDestination(client, sent++, this.clients));
    this.#ready.post();
    for (;;) {
      const woken = await this.#turns[client - 1].wait({ timeoutMs, signal: options.signal });
      if (!woken) {
        throw this.#stopped(
          options.signal,
          turnName(this.label, client),
          `client ${client} waited ${timeoutMs} ms for its turn: another client is gone`,
          `client ${client} was stopped while waiting for its turn`,
        );
      }
      if (view.getUint32(H_DONE, true) === 1) return;
      if (view.getInt32(M_PACKET_NO, true) === -1 && client === this.clients) {
        const first = sendNext(0);
        options.onTurn?.({ client, sent: first });
        this.#turns[first.to - 1].post();
        continue;
      }
      const received = this.#receive(client);
      if (received.packet === this.packets - 1) {
        options.onTurn?.({ client, received });
        view.setUint32(H_DONE, 1, true);
        this.#turns.forEach((turn, i) => i + 1 !== client && turn.post());
        return;
      }
      const next = sendNext(received.packet + 1);
      options.onTurn?.({ client, received, sent: next });
      this.#turns[next.to - 1].post();
    }
  }

  /**
   * The packets received so far, in the order they arrived (from the log in the segment).
   *
   * @returns One hop per received packet.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Relay } from "./relay.ts";
   *
   * const relay = Relay.create(`doc-arrivals-${crypto.randomUUID().slice(0, 8)}`, 2, 1);
   * assert.deepEqual(relay.arrivals(), []);
   * await Promise.all([relay.start(), relay.runClient(1), relay.runClient(2)]);
   * assert.deepEqual(relay.arrivals(), [
   *   { packet: 0, from: 2, to: 1 },
   *   { packet: 1, from: 1, to: 2 },
   * ]);
   * relay.destroy();
   * ```
   */
  arrivals(): RelayHop[] {
    const view = this.#view;
    const count = Math.min(view.getUint32(H_ARRIVALS, true), this.packets);
    const hops: RelayHop[] = [];
    for (let i = 0; i < count; i++) {
      const entry = LOG + i * LOG_ENTRY;
      hops.push({
        packet: view.getUint32(entry, true),
        from: view.getUint16(entry + 4, true),
        to: view.getUint16(entry + 6, true),
      });
    }
    return hops;
  }

  /**
   * Checks the arrival log against {@link relayRoute}: every packet arrived exactly once,
   * in order, from and to the right clients.
   *
   * @returns Whether it passed, with the problems found.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Relay } from "./relay.ts";
   *
   * const relay = Relay.create(`doc-check-${crypto.randomUUID().slice(0, 8)}`, 2, 1);
   * assert.deepEqual(relay.check().problems, ["2 of 2 packets never arrived"]);
   * relay.destroy();
   * ```
   */
  check(): RelayCheck {
    const expected = relayRoute(this.clients, this.packets);
    const arrived = this.arrivals();
    const logged = this.#view.getUint32(H_ARRIVALS, true);
    const problems: string[] = [];
    arrived.forEach((hop, i) => {
      const want = expected[i];
      if (hop.packet !== want.packet || hop.from !== want.from || hop.to !== want.to) {
        problems.push(
          `arrival ${i + 1} was packet ${hop.packet} from client ${hop.from} to client ` +
            `${hop.to}; expected packet ${want.packet} from client ${want.from} to client ` +
            `${want.to}`,
        );
      }
    });
    if (logged < this.packets) {
      problems.push(`${this.packets - logged} of ${this.packets} packets never arrived`);
    } else if (logged > this.packets) {
      problems.push(`${logged - this.packets} packets arrived more than once`);
    }
    return { ok: problems.length === 0, arrived: logged, expected: this.packets, problems };
  }

  /**
   * Closes this process's handles (the objects stay for the others).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IpcError } from "./ipc_error.ts";
   * import { Relay } from "./relay.ts";
   *
   * const relay = Relay.create(`doc-close-${crypto.randomUUID().slice(0, 8)}`, 2, 1);
   * const opened = Relay.open(relay.label);
   * opened.close();
   * // Only its creator removes it.
   * assert.throws(() => opened.destroy(), (error) => error instanceof IpcError);
   * const again = Relay.open(relay.label); // still there for the others
   * assert.equal(again.clients, 2);
   * again.close();
   * relay.destroy();
   * ```
   */
  close(): void {
    for (const semaphore of [this.#ready, ...this.#turns]) semaphore.close();
    this.#shm.close();
  }

  /**
   * Closes and removes every OS object of the relay. Only for the process that created it.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { IpcError } from "./ipc_error.ts";
   * import { Relay } from "./relay.ts";
   *
   * const relay = Relay.create(`doc-destroy-${crypto.randomUUID().slice(0, 8)}`, 2, 1);
   * relay.destroy();
   * assert.throws(
   *   () => Relay.open(relay.label),
   *   (error) => error instanceof IpcError && error.code === "ENOENT",
   * );
   * ```
   */
  destroy(): void {
    if (!this.#owner) {
      throw relayError("remove relay", this.label, "only the process that created it may");
    }
    this.close();
    unlinkIfPresent(() => SharedMemory.unlink(this.#shm.name));
    for (const semaphore of [this.#ready, ...this.#turns]) {
      unlinkIfPresent(() => NamedSemaphore.unlink(semaphore.name));
    }
  }
}
