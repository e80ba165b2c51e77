/**
 * One side of the IPC benchmark, run as its own process by bench/ipc.ts.
 *
 *   deno run -A bench/_ipc_peer.ts consumer TRANSPORT SIZE ADDRESS
 *   deno run -A bench/_ipc_peer.ts producer TRANSPORT SIZE ADDRESS LATENCY WAKE THROUGHPUT
 *   deno run -A bench/_ipc_peer.ts idle shm 0 ROOM      (prints its CPU µs per stdin line)
 *
 * TRANSPORT is shm (ADDRESS: a room), unix (a socket path) or tcp (ADDRESS ignored: the
 * consumer listens on a free loopback port and prints it). The consumer prints "ready
 * ADDRESS", then one JSON line with its measurements after the end marker.
 *
 * Every message is SIZE bytes of ASCII: a phase letter, the send time in µs since the epoch
 * (18 characters), then padding. Phases: L (latency: paced so the reader keeps up and
 * spins), W (wake: paced 2 ms apart so the reader is asleep each time), T (throughput: as
 * fast as the producer can send, one send call per message), E (end).
 */
import process from "node:process";
import { createInterface } from "node:readline";
import { linuxLibc } from "../ffi/libc.ts";
import { Room } from "../src/ipc/room.ts";

/** The gap between latency-phase messages: shorter than a reader's spin, longer than a send. */
const LATENCY_PACE_MS = 0.02;
/** The gap between wake-phase messages: long enough for the reader to fall asleep. */
const WAKE_PACE_MS = 2;
const STAMP_BYTES = 18;
/** Latency messages not counted: while they arrive, both processes are still compiling. */
const WARM_UP = 1000;

const [role, transport, sizeText, address, ...counts] = Deno.args;
const size = Number(sizeText);

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

/** What the consumer measured. */
interface Measured {
  latencyUs: number[];
  wakeUs: number[];
  throughput: { received: number; missed: number; seconds: number };
}

class Consumer {
  readonly latencyUs: number[] = [];
  readonly wakeUs: number[] = [];
  latencySeen = 0;
  received = 0;
  missed = 0;
  first = 0;
  last = 0;

  /** Handles one message; true at the end marker. */
  take(phase: string, stamp: number): boolean {
    const now = nowUs();
    if (phase === "L") {
      if (++this.latencySeen > WARM_UP) this.latencyUs.push(now - stamp);
    } else if (phase === "W") this.wakeUs.push(now - stamp);
    else if (phase === "T") {
      if (this.received === 0) this.first = now;
      this.received++;
    } else if (phase === "E") {
      this.last = now;
      return true;
    }
    return false;
  }

  result(): Measured {
    return {
      latencyUs: this.latencyUs,
      wakeUs: this.wakeUs,
      throughput: {
        received: this.received,
        missed: this.missed,
        seconds: (this.last - this.first) / 1e6,
      },
    };
  }
}

async function consumeRoom(room: string): Promise<Measured> {
  const me = Room.join(room, "consumer", { capacity: 4096 });
  console.log(`ready ${room}`);
  const consumer = new Consumer();
  for await (const event of me.events()) {
    if (event.kind === "missed") consumer.missed += event.missed!;
    if (event.kind !== "message") continue;
    if (consumer.take(event.text[0], Number(event.text.slice(1, 1 + STAMP_BYTES)))) break;
  }
  me.leave();
  return consumer.result();
}

async function consumeStream(listener: Deno.Listener): Promise<Measured> {
  const connection = await listener.accept();
  const consumer = new Consumer();
  const buffer = new Uint8Array(1 << 16);
  const pending = new Uint8Array(size);
  let filled = 0;
  let done = false;
  while (!done) {
    const read = await connection.read(buffer);
    if (read === null) break;
    for (let at = 0; at < read && !done;) {
      const take = Math.min(size - filled, read - at);
      pending.set(buffer.subarray(at, at + take), filled);
      filled += take;
      at += take;
      if (filled === size) {
        filled = 0;
        let stamp = 0;
        for (let i = 1; i <= STAMP_BYTES; i++) {
          const c = pending[i];
          if (c !== 46 /* . */) stamp = stamp * 10 + (c - 48);
        }
        done = consumer.take(String.fromCharCode(pending[0]), stamp / 10);
      }
    }
  }
  connection.close();
  listener.close();
  return consumer.result();
}

function busyUntil(deadline: number): void {
  while (performance.now() < deadline) { /* paced: a timer is far too coarse */ }
}

async function produce(send: (text: string) => void | Promise<unknown>): Promise<void> {
  const [latency, wake, throughput] = counts.map(Number);
  let next = performance.now();
  for (let i = 0; i < latency; i++) {
    busyUntil(next += LATENCY_PACE_MS);
    await send(frame("L"));
  }
  for (let i = 0; i < wake; i++) {
    await new Promise((resolve) => setTimeout(resolve, WAKE_PACE_MS));
    await send(frame("W"));
  }
  const body = frame("T");
  for (let i = 0; i < throughput; i++) await send(body);
  await send(frame("E"));
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
  if (transport === "shm") {
    const me = Room.join(address, "producer");
    await produce((text) => me.send(text));
    me.leave();
  } else {
    let connection: Deno.Conn;
    if (transport === "unix") connection = await Deno.connect({ transport: "unix", path: address });
    else {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port: Number(address) });
      tcp.setNoDelay(true);
      connection = tcp;
    }
    const encoder = new TextEncoder();
    await produce(async (text) => {
      const bytes = encoder.encode(text);
      for (let at = 0; at < bytes.length;) at += await connection.write(bytes.subarray(at));
    });
    connection.close();
  }
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
