/**
 * One side of the IPC benchmark, run as its own process by bench/ipc.ts.
 *
 *   deno run -A bench/_ipc_peer.ts consumer TRANSPORT SIZE ADDRESS
 *   deno run -A bench/_ipc_peer.ts producer TRANSPORT SIZE ADDRESS LATENCY WAKE THROUGHPUT
 *   deno run -A bench/_ipc_peer.ts idle shm 0 ROOM      (prints its CPU µs per stdin line)
 *
 * TRANSPORT is shm (ADDRESS: a room), unix (a socket path) or tcp (ADDRESS ignored: the
 * consumer listens on a free loopback port and prints it). The consumer prints "ready
 * ADDRESS", then one JSON line with what it received; the producer prints one JSON line with
 * what it sent and how long sending took.
 *
 * Every message is SIZE bytes of ASCII: a phase letter, the send time in µs since the epoch
 * (18 characters), then padding. Phases, in order:
 *
 * - L (latency): paced 20 µs apart, so the reader keeps up and spins; one send call each.
 * - W (wake): paced 2 ms apart, so the reader is asleep each time.
 * - T (one call per message): back to back, one `send()` / one `write()` each.
 * - B (batched, lossless): back to back in batches of 64: shm `sendBatch()` with `waitMs`
 *   (waits for the reader instead of lapping it); sockets one `write()` of 64 messages.
 * - F (batched firehose, shm only): `sendBatch()` without `waitMs`: the reader is lapped
 *   when it falls a ring behind, and counts what it missed.
 *
 * All messages of a throughput phase carry the phase's start time. Each phase ends with an
 * "E" message naming it, which the consumer acknowledges (through the room, or a byte back
 * on the socket) before the producer starts the next one, so phases never overlap and the
 * end marker is never lapped. "Q" ends the run.
 *
 * The shm consumer reads with `drain()` (no allocation per message) and sleeps in
 * `waitForEvents()` only when the ring is empty.
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { linuxLibc } from "../ffi/libc.ts";
import { Room, type RoomEventView } from "../src/ipc/room.ts";

/** The gap between latency-phase messages: shorter than a reader's spin, longer than a send. */
const LATENCY_PACE_MS = 0.02;
/** The gap between wake-phase messages: long enough for the reader to fall asleep. */
const WAKE_PACE_MS = 2;
const STAMP_BYTES = 18;
/** Latency messages not counted: while they arrive, both processes are still compiling. */
const WARM_UP = 1000;
/** Messages per batch in phases B and F. */
const BATCH = 64;
/** Ring slots of the benchmark room (about 4.6 MB). */
const RING = 4096;
/** How long a lossless shm batch waits for the reader before lapping it anyway. */
const LOSSLESS_WAIT_MS = 10_000;
/** How many times each throughput phase runs (in turn), so one stall does not decide. */
const ROUNDS = 3;
/** The throughput phases each transport runs. */
const PHASES: Record<string, string[]> = {
  shm: ["T", "B", "F"],
  unix: ["T", "B"],
  tcp: ["T", "B"],
};

const [role, transport, sizeText, address, ...counts] = Deno.args;
const size = Number(sizeText);
const encoder = new TextEncoder();
const CHAR = { L: 76, W: 87, E: 69, Q: 81, DOT: 46, ZERO: 48 };

/**
 * Wall-clock µs with sub-µs resolution, comparable between processes: performance.now()
 * plus this process's offset to CLOCK_REALTIME (each process's timeOrigin alone is off by
 * about a µs from the next one's).
 */
const offsetMs = calibrate();
function nowUs(): number {
  return (performance.now() + offsetMs) * 1000;
}

function calibrate(): number {
  if (Deno.build.os !== "linux") return performance.timeOrigin;
  const clock = linuxLibc().symbols.clock_gettime;
  const spec = new BigInt64Array(2);
  const bytes = new Uint8Array(spec.buffer);
  let best = { width: Infinity, offset: performance.timeOrigin };
  for (let i = 0; i < 200; i++) {
    const before = performance.now();
    clock(0, /* CLOCK_REALTIME */ bytes);
    const after = performance.now();
    const real = Number(spec[0]) * 1000 + Number(spec[1]) / 1e6;
    if (after - before < best.width) {
      best = { width: after - before, offset: real - (before + after) / 2 };
    }
  }
  return best.offset;
}

function frame(phase: string): string {
  const stamp = nowUs().toFixed(1).padStart(STAMP_BYTES, "0");
  return (phase + stamp).padEnd(size, ".");
}

/** The message that ends `phase`. */
function endFrame(phase: string): string {
  return `E${phase}`.padEnd(size, ".");
}

/** The send time (µs) in a frame starting at `bytes[at]`. */
function stampAt(bytes: Uint8Array, at: number): number {
  let stamp = 0;
  for (let i = at + 1; i <= at + STAMP_BYTES; i++) {
    const c = bytes[i];
    if (c !== CHAR.DOT) stamp = stamp * 10 + (c - CHAR.ZERO);
  }
  return stamp / 10;
}

/** What the consumer counted in one throughput phase. */
interface Received {
  received: number;
  missed: number;
  /** From the phase's start (its messages' stamp) to the receipt of its end marker. */
  seconds: number;
}

/** What the consumer measured. */
interface Measured {
  latencyUs: number[];
  wakeUs: number[];
  /** Per throughput phase, one entry per round. */
  phases: Record<string, Received[]>;
}

/** What the producer sent in one throughput phase, and how long its send calls took. */
interface Sent {
  sent: number;
  seconds: number;
}

/** What {@link Consumer.take} asks of its caller: go on, acknowledge a phase's end, stop. */
const CONTINUE = 0;
const ACKNOWLEDGE = 1;
const QUIT = 2;

class Consumer {
  readonly latencyUs: number[] = [];
  readonly wakeUs: number[] = [];
  readonly phases: Record<string, Received[]> = {};
  latencySeen = 0;
  received = 0;
  missed = 0;
  startUs = 0;

  /** Handles one message whose frame starts at `bytes[at]`. */
  take(bytes: Uint8Array, at: number): number {
    const phase = bytes[at];
    if (phase === CHAR.L) {
      if (++this.latencySeen > WARM_UP) this.latencyUs.push(nowUs() - stampAt(bytes, at));
    } else if (phase === CHAR.W) this.wakeUs.push(nowUs() - stampAt(bytes, at));
    else if (phase === CHAR.E) {
      const now = nowUs();
      const ended = String.fromCharCode(bytes[at + 1]);
      if (ended !== "L" && ended !== "W") {
        (this.phases[ended] ??= []).push({
          received: this.received,
          missed: this.missed,
          seconds: (now - this.startUs) / 1e6,
        });
      }
      this.received = 0;
      this.missed = 0;
      return ACKNOWLEDGE;
    } else if (phase === CHAR.Q) return QUIT;
    else {
      if (this.received === 0) this.startUs = stampAt(bytes, at);
      this.received++;
    }
    return CONTINUE;
  }

  result(): Measured {
    return { latencyUs: this.latencyUs, wakeUs: this.wakeUs, phases: this.phases };
  }
}

async function consumeRoom(room: string): Promise<Measured> {
  const me = Room.join(room, "consumer", { capacity: RING });
  // Reading once makes this a reader that lossless writers wait for.
  me.drain(() => {});
  console.log(`ready ${room}`);
  const consumer = new Consumer();
  let quit = false;
  let ackSeq = 0;
  const handle = (event: RoomEventView) => {
    if (event.kind === "missed") {
      consumer.missed += event.missed;
      // Our own acknowledgement may be among what the next phase's first messages lapped:
      // it is not one of that phase's messages.
      if (ackSeq >= event.seq && ackSeq < event.seq + event.missed) consumer.missed--;
      return;
    }
    if (event.kind !== "message") return;
    const next = consumer.take(event.bytes, 0);
    if (next === ACKNOWLEDGE) {
      // Nobody else writes while the producer waits for it: it comes right after the marker.
      ackSeq = event.seq + 1;
      me.send("A", "producer");
    } else if (next === QUIT) quit = true;
  };
  while (!quit) {
    if (me.drain(handle, RING) === 0) await me.waitForEvents();
  }
  me.leave();
  return consumer.result();
}

async function consumeStream(listener: Deno.Listener): Promise<Measured> {
  const connection = await listener.accept();
  const consumer = new Consumer();
  const buffer = new Uint8Array(1 << 16);
  const pending = new Uint8Array(size);
  const ack = new Uint8Array([65]);
  let filled = 0;
  let quit = false;
  while (!quit) {
    const read = await connection.read(buffer);
    if (read === null) break;
    for (let at = 0; at < read && !quit;) {
      let next: number;
      if (filled === 0 && read - at >= size) {
        next = consumer.take(buffer, at);
        at += size;
      } else {
        const take = Math.min(size - filled, read - at);
        pending.set(buffer.subarray(at, at + take), filled);
        filled += take;
        at += take;
        if (filled < size) continue;
        filled = 0;
        next = consumer.take(pending, 0);
      }
      if (next === ACKNOWLEDGE) await connection.write(ack);
      quit = next === QUIT;
    }
  }
  connection.close();
  listener.close();
  return consumer.result();
}

/** How the producer reaches the consumer. */
interface Link {
  /** Sends one message with one call. */
  send(text: string): void | Promise<void>;
  /** Sends BATCH copies of `body` in one call; `lossless`: wait for the reader if needed. */
  sendBatch(body: Uint8Array, lossless: boolean): void | Promise<void>;
  /** Sends the end marker of `phase` and waits for the consumer to acknowledge it. */
  end(phase: string): Promise<void>;
}

function busyUntil(deadline: number): void {
  while (performance.now() < deadline) { /* paced: a timer is far too coarse */ }
}

async function produce(link: Link): Promise<Record<string, Sent[]>> {
  const [latency, wake, throughput] = counts.map(Number);
  let next = performance.now();
  for (let i = 0; i < latency; i++) {
    busyUntil(next += LATENCY_PACE_MS);
    const sending = link.send(frame("L"));
    if (sending) await sending;
  }
  await link.end("L");
  for (let i = 0; i < wake; i++) {
    await new Promise((resolve) => setTimeout(resolve, WAKE_PACE_MS));
    await link.send(frame("W"));
  }
  await link.end("W");
  const sent: Record<string, Sent[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const phase of PHASES[transport]) sent[phase] = [...sent[phase] ?? [], await run(phase)];
  }
  await link.send(frame("Q"));
  return sent;

  async function run(phase: string): Promise<Sent> {
    const text = frame(phase);
    const body = encoder.encode(text);
    const started = performance.now();
    let count = 0;
    if (phase === "T") {
      // Awaited only when the call returns a promise: a microtask per message is not the room's cost.
      for (; count < throughput; count++) {
        const sending = link.send(text);
        if (sending) await sending;
      }
    } else {
      for (; count < throughput; count += BATCH) {
        const sending = link.sendBatch(body, phase === "B");
        if (sending) await sending;
      }
    }
    const seconds = (performance.now() - started) / 1000;
    await link.end(phase);
    return { sent: count, seconds };
  }
}

function roomLink(me: Room): Link {
  const batches = new Map<Uint8Array, Uint8Array[]>();
  return {
    send: (text) => me.send(text),
    sendBatch(body, lossless) {
      let batch = batches.get(body);
      if (batch === undefined) batches.set(body, batch = Array(BATCH).fill(body));
      me.sendBatch(batch, { waitMs: lossless ? LOSSLESS_WAIT_MS : 0 });
    },
    async end(phase) {
      me.send(endFrame(phase));
      let acknowledged = false;
      while (!acknowledged) {
        me.drain((event) => {
          if (event.kind === "message" && event.fromName === "consumer") acknowledged = true;
        });
        if (!acknowledged) await me.waitForEvents();
      }
    },
  };
}

function streamLink(connection: Deno.Conn): Link {
  const writeAll = async (bytes: Uint8Array) => {
    for (let at = 0; at < bytes.length;) at += await connection.write(bytes.subarray(at));
  };
  const batches = new Map<Uint8Array, Uint8Array>();
  const ack = new Uint8Array(1);
  return {
    send: (text) => writeAll(encoder.encode(text)),
    sendBatch(body) {
      let batch = batches.get(body);
      if (batch === undefined) {
        batch = new Uint8Array(BATCH * size);
        for (let i = 0; i < BATCH; i++) batch.set(body, i * size);
        batches.set(body, batch);
      }
      return writeAll(batch);
    },
    async end(phase) {
      await writeAll(encoder.encode(endFrame(phase)));
      if ((await connection.read(ack)) === null) throw new Error("The consumer hung up");
    },
  };
}

if (role === "consumer") {
  let measured: Measured;
  if (transport === "shm") measured = await consumeRoom(address);
  else {
    const listener = transport === "unix"
      ? Deno.listen({ transport: "unix", path: address })
      : Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const where = listener.addr.transport === "tcp" ? String(listener.addr.port) : address;
    console.log(`ready ${where}`);
    measured = await consumeStream(listener);
  }
  console.log(JSON.stringify(measured));
} else if (role === "producer") {
  let sent: Record<string, Sent[]>;
  if (transport === "shm") {
    const me = Room.join(address, "producer");
    sent = await produce(roomLink(me));
    me.leave();
  } else {
    let connection: Deno.Conn;
    if (transport === "unix") connection = await Deno.connect({ transport: "unix", path: address });
    else {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port: Number(address) });
      tcp.setNoDelay(true);
      connection = tcp;
    }
    sent = await produce(streamLink(connection));
    connection.close();
  }
  console.log(JSON.stringify(sent));
} else if (role === "idle") {
  const me = Room.join(address, "idle");
  const stop = new AbortController();
  const reading = (async () => {
    for await (const _ of me.events(stop.signal)) { /* nothing comes: it just waits */ }
  })();
  console.log(`ready ${address}`);
  // Each line on stdin asks for this process's CPU time so far; the end of input stops it.
  for await (const _ of createInterface({ input: process.stdin })) {
    const { user, system } = process.cpuUsage();
    console.log(`cpu ${user + system}`);
  }
  stop.abort();
  await reading;
  me.leave();
}
