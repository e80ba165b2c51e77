/**
 * One load-generator process of the fan-out benchmark (bench/fanout.ts starts one or two).
 * It connects a slice of the benchmark's clients, registers them and joins the channel,
 * then on the coordinator's word sends on a fixed schedule and counts what arrives.
 *
 * Most clients only count newlines in the bytes they read (no decoding, no parsing), so the
 * generator stays cheap; a few sampler clients decode every line and record the latency of
 * each message from the send time it carries.
 *
 * Protocol, one JSON object per line: the plan arrives as the first argument; the worker
 * prints `{"type":"joined",…}` once every client is registered (or has failed), reads
 * `{"cmd":"start",…}` on stdin, prints `{"type":"result",…}` at the end of the drain and
 * exits when stdin closes.
 *
 * @module
 */
import { sleepUntil, wallClock } from "./_clock.ts";
import { type Histogram, record } from "./_histogram.ts";

/** What the coordinator asks one worker to do. */
export interface WorkerPlan {
  host: string;
  port: number;
  /**
   * The ports of a cluster's nodes: client i connects to `ports[i % ports.length]` (its node),
   * and the samplers' latency is kept per node. None: every client connects to `port`.
   */
  ports?: number[];
  /**
   * Global indexes of the clients that send, in turn, each at the start command's rate. None:
   * every client sends.
   */
  senders?: number[];
  /** Global index of this worker's first client. */
  first: number;
  /** How many clients this worker runs. */
  count: number;
  /** Clients in the whole benchmark. */
  total: number;
  /** Global indexes of the clients that decode lines to sample latency. */
  samplers: number[];
  /** Nick prefix; the global index follows, zero-padded. */
  prefix: string;
  channel: string;
  /** Register only, join nothing and send nothing (memory test). */
  idle: boolean;
  /** Registrations in flight at once. */
  window: number;
  /** Give up on clients not joined by then. */
  joinTimeoutMs: number;
  /** Bytes of message text (timestamp included). */
  textBytes: number;
}

/** The coordinator's start signal. */
export interface StartCommand {
  cmd: "start";
  /**
   * Wall-clock ms (`performance.timeOrigin + performance.wallClock()`) when the measured window
   * starts; sending starts `warmupMs` earlier.
   */
  at: number;
  warmupMs: number;
  /** Messages per second per client. */
  rate: number;
  /** How long clients send. */
  seconds: number;
}

/**
 * The coordinator's second command, once every worker said how much it sent: keep receiving
 * until this worker's samplers have every window message of the others, or `drainMs` passed.
 */
export interface DrainCommand {
  cmd: "drain";
  /** Window messages all workers' clients sent. */
  totalSent: number;
  /** The longest to keep receiving, ms. */
  drainMs: number;
}

/** Printed when sending stops. */
export interface SentReport {
  type: "sent";
  /** Window messages this worker's clients sent. */
  sent: number;
  /** Window messages this worker's samplers sent themselves (they never get their own back). */
  samplerSent: number;
  /** This worker's samplers. */
  samplers: number;
}

/** Printed once registration is over. */
export interface JoinedReport {
  type: "joined";
  joined: number;
  failed: number;
  /** ms from the first connect to the last join. */
  ms: number;
  /** Why the first failed client failed. */
  firstError?: string;
}

/** Printed after the drain. */
export interface ResultReport {
  type: "result";
  /** Messages this worker's clients sent in the window. */
  sent: number;
  /** Lines received by all clients between start and start + seconds. */
  receivedInWindow: number;
  /** Lines received from start to the end of the drain. */
  receivedTotal: number;
  /** Latency of messages sent in the window, as seen by the samplers. */
  histogram: Histogram;
  /** The same per node (the index in the plan's `ports`; one entry without them). */
  nodeHistograms: Histogram[];
  /** Window messages the samplers received (each sampler should see everyone else's). */
  sampled: number;
  /** Window messages the samplers should have received: everyone else's. */
  expected: number;
  /** Clients whose connection closed after they joined. */
  disconnects: number;
}

const encoder = new TextEncoder();
const NEWLINE = 10;
const P = 0x50;

/** One benchmark client. */
class Client {
  readonly index: number;
  readonly nick: string;
  readonly sampler: boolean;
  /** Which of the plan's ports (cluster nodes) this client connects to. */
  readonly node: number;
  conn?: Deno.TcpConn;
  joined = false;
  closed = false;
  #writing = false;
  #pending = "";
  /** Counting mode: whether the next byte starts a line, and a line starting with P. */
  atLineStart = true;
  pLine?: string;
  /** Sampler mode: the unfinished last line. */
  rest = "";
  /** Messages this client sent in the measured window. */
  windowSent = 0;

  constructor(index: number, prefix: string, sampler: boolean, node: number) {
    this.index = index;
    this.nick = `${prefix}${String(index).padStart(5, "0")}`;
    this.sampler = sampler;
    this.node = node;
  }

  /** Queues a line; one write at a time per connection, later lines gather meanwhile. */
  send(line: string): void {
    this.#pending += line;
    if (!this.#writing) this.#flush();
  }

  async #flush(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pending && !this.closed) {
        const bytes = encoder.encode(this.#pending);
        this.#pending = "";
        let done = 0;
        while (done < bytes.length) done += await this.conn!.write(bytes.subarray(done));
      }
    } catch {
      this.closed = true;
    } finally {
      this.#writing = false;
    }
  }
}

/**
 * Counting clients read at most once per tick: a read costs a few µs whatever it returns,
 * so letting bytes gather in the socket for a few ms keeps the generator cheap at millions
 * of lines a second. Only the samplers' timing matters, and they read at once.
 */
const READ_TICK_MS = 10;
let readTick = Promise.withResolvers<void>();
const ticker = setInterval(() => {
  const { resolve } = readTick;
  readTick = Promise.withResolvers<void>();
  resolve();
}, READ_TICK_MS);

/** Counters shared by the worker's clients. */
const totals = { lines: 0, disconnects: 0, sampled: 0 };
/** Called with each sampled window message during the drain: it ends once all arrived. */
let onSampled: (() => void) | undefined;
let window: { start: number; end: number } | undefined;
const histogram: Histogram = {};
const nodeHistograms: Histogram[] = [];
const decoder = new TextDecoder();

/** Counts the lines of a chunk without decoding it, answering PING on the way. */
function countLines(client: Client, bytes: Uint8Array): void {
  let pos = 0;
  while (pos < bytes.length) {
    if (client.atLineStart && bytes[pos] === P) client.pLine = "";
    const newline = bytes.indexOf(NEWLINE, pos);
    const end = newline === -1 ? bytes.length : newline;
    if (client.pLine !== undefined) client.pLine += decoder.decode(bytes.subarray(pos, end));
    if (newline === -1) {
      client.atLineStart = false;
      return;
    }
    totals.lines++;
    client.atLineStart = true;
    if (client.pLine !== undefined) {
      answerPing(client, client.pLine.trimEnd());
      client.pLine = undefined;
    }
    pos = newline + 1;
  }
}

/** Decodes every line of a chunk and records the latency of channel messages. */
function sampleLines(client: Client, bytes: Uint8Array, channel: string): void {
  const received = wallClock();
  const lines = (client.rest + decoder.decode(bytes, { stream: true })).split("\r\n");
  client.rest = lines.pop()!;
  const marker = ` PRIVMSG ${channel} :`;
  for (const line of lines) {
    totals.lines++;
    const at = line.indexOf(marker);
    if (at === -1) {
      answerPing(client, line);
      continue;
    }
    const start = at + marker.length;
    const sent = Number(line.slice(start, line.indexOf(" ", start)));
    if (window && sent >= window.start && sent < window.end) {
      record(histogram, (received - sent) * 1000);
      record(nodeHistograms[client.node] ??= {}, (received - sent) * 1000);
      totals.sampled++;
      onSampled?.();
    }
  }
}

function answerPing(client: Client, line: string): void {
  if (line.startsWith("PING")) client.send(`PONG${line.slice(4)}\r\n`);
}

/** Connects, registers, joins; then reads until the connection closes. */
async function runClient(client: Client, plan: WorkerPlan, joined: () => void): Promise<void> {
  const buffer = new Uint8Array(plan.idle ? 4096 : 32768);
  const port = plan.ports?.[client.node] ?? plan.port;
  const conn = await Deno.connect({ hostname: plan.host, port });
  client.conn = conn;
  conn.setNoDelay(true);
  client.send(`NICK ${client.nick}\r\nUSER ${client.nick} 0 * :fan-out benchmark\r\n`);
  let text = "";
  let joinSent = false;
  while (!client.joined) {
    const n = await conn.read(buffer);
    if (n === null) throw new Error(`server closed the connection: ${text.slice(-300)}`);
    text += decoder.decode(buffer.subarray(0, n));
    for (const line of text.split("\r\n").slice(0, -1)) answerPing(client, line);
    if (/^\S+ (433|432|465|ERROR)|^ERROR/m.test(text)) {
      throw new Error(`registration refused: ${text.match(/^.*(433|432|465|ERROR).*$/m)![0]}`);
    }
    if (!joinSent && /^:\S+ 001 /m.test(text)) {
      if (plan.idle) break;
      joinSent = true;
      client.send(`JOIN ${plan.channel}\r\n`);
    }
    if (/^:\S+ 366 /m.test(text)) break;
    text = text.slice(text.lastIndexOf("\r\n") + 2);
  }
  client.joined = true;
  joined();
  try {
    while (true) {
      const n = await conn.read(buffer);
      if (n === null) break;
      if (client.sampler) {
        sampleLines(client, buffer.subarray(0, n), plan.channel);
      } else {
        countLines(client, buffer.subarray(0, n));
        await readTick.promise;
      }
    }
  } catch { /* reset by the server */ }
  if (!client.closed) totals.disconnects++;
  client.closed = true;
}

/** Registers every client, at most `plan.window` at a time. */
async function joinAll(plan: WorkerPlan, clients: Client[]): Promise<JoinedReport> {
  const started = wallClock();
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const deadline = setTimeout(() => {
    for (const client of clients) if (!client.joined) client.conn?.close();
  }, plan.joinTimeoutMs);
  await Promise.all(Array.from({ length: Math.min(plan.window, clients.length) }, async () => {
    while (next < clients.length) {
      const client = clients[next++];
      if (wallClock() - started > plan.joinTimeoutMs) {
        failed++;
        firstError ??= `not joined within ${plan.joinTimeoutMs} ms`;
        continue;
      }
      await new Promise<void>((resolve) => {
        runClient(client, plan, resolve).catch((error) => {
          if (!client.joined) {
            failed++;
            firstError ??= wallClock() - started >= plan.joinTimeoutMs
              ? `not joined within ${plan.joinTimeoutMs} ms`
              : error instanceof Error
              ? error.message
              : String(error);
            client.closed = true;
            try {
              client.conn?.close();
            } catch { /* already closed */ }
            resolve();
          }
        });
      });
    }
  }));
  clearTimeout(deadline);
  return {
    type: "joined",
    joined: clients.length - failed,
    failed,
    ms: wallClock() - started,
    firstError,
  };
}

/**
 * Sends on the schedule — message j leaves at first + j / (senders × rate), from sender
 * j mod senders (every client when the plan names none) — and returns how many were sent
 * inside the window.
 */
async function sendAll(plan: WorkerPlan, clients: Client[], start: StartCommand): Promise<number> {
  const senders = plan.senders ?? Array.from({ length: plan.total }, (_, i) => i);
  const interval = 1000 / (senders.length * start.rate);
  const first = start.at - start.warmupMs;
  const end = start.at + start.seconds * 1000;
  const pad = "x".repeat(Math.max(0, plan.textBytes - 18));
  let next = 0;
  let sent = 0;
  while (true) {
    const time = wallClock();
    if (time >= end) return sent;
    for (; first + next * interval <= time; next++) {
      const client = clients[senders[next % senders.length] - plan.first];
      if (!client?.joined || client.closed) continue;
      const stamp = wallClock();
      client.send(`PRIVMSG ${plan.channel} :${stamp.toFixed(3)} ${pad}\r\n`);
      if (stamp >= start.at) {
        sent++;
        client.windowSent++;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

/** The coordinator's commands, one JSON object per line of standard input. */
async function* readCommands(): AsyncGenerator<StartCommand | DrainCommand> {
  const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream());
  let buffered = "";
  for await (const chunk of lines) {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf("\n")) !== -1) {
      yield JSON.parse(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
}

async function main(): Promise<void> {
  const plan: WorkerPlan = JSON.parse(Deno.args[0]);
  const samplers = new Set(plan.samplers);
  const clients = Array.from(
    { length: plan.count },
    (_, i) =>
      new Client(
        plan.first + i,
        plan.prefix,
        samplers.has(plan.first + i),
        (plan.first + i) % (plan.ports?.length ?? 1),
      ),
  );
  const print = (report: JoinedReport | SentReport | ResultReport) =>
    console.log(JSON.stringify(report));
  print(await joinAll(plan, clients));
  const commands = readCommands();
  for await (const command of commands) {
    if (command.cmd !== "start") continue;
    window = { start: command.at, end: command.at + command.seconds * 1000 };
    await sleepUntil(command.at - command.warmupMs);
    let before = totals.lines;
    const snapshot = setTimeout(() => before = totals.lines, command.at - wallClock());
    const sent = await sendAll(plan, clients, command);
    clearTimeout(snapshot);
    const inWindow = totals.lines - before;
    const sampling = clients.filter((client) => client.sampler);
    const samplerSent = sampling.reduce((sum, client) => sum + client.windowSent, 0);
    print({ type: "sent", sent, samplerSent, samplers: sampling.length });
    const drain = (await commands.next()).value as DrainCommand | undefined;
    if (drain === undefined) break;
    const expected = sampling.length * drain.totalSent - samplerSent;
    // Until the samplers have everything, or the drain's bound: an event, not a fixed wait.
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        onSampled = undefined;
        resolve();
      };
      const timer = setTimeout(done, drain.drainMs);
      onSampled = () => {
        if (totals.sampled >= expected) done();
      };
      onSampled();
    });
    print({
      type: "result",
      sent,
      receivedInWindow: inWindow,
      receivedTotal: totals.lines - before,
      histogram,
      nodeHistograms,
      sampled: totals.sampled,
      expected,
      disconnects: totals.disconnects,
    });
  }
  clearInterval(ticker);
  for (const client of clients) {
    client.closed = true;
    try {
      client.conn?.close();
    } catch { /* already closed */ }
  }
}

if (import.meta.main) await main();
