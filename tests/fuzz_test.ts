/**
 * Fuzzing a live `shmooze serve`: many connections throw random and mutated lines at it
 * while two well-behaved clients keep chatting. Reproduce a failure with the seed it prints:
 * `SHMOOZE_FUZZ_SEED=<seed> deno test -A tests/fuzz_test.ts`.
 */
import assert from "node:assert/strict";
import { IrcTestClient, type Received, startServe } from "./_irc.ts";

const SEED = Number(Deno.env.get("SHMOOZE_FUZZ_SEED") ?? 20261122);
const FUZZERS = 12;
const BATCH = 250;
const TARGET_LINES = 100_000;
const TIME_LIMIT_MS = 50_000;
/** The server's resident memory may not grow past its settled size by more than this. */
const RSS_GROWTH_LIMIT_KIB = 160 * 1024;

/** mulberry32: small, fast and the same on every machine. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const encoder = new TextEncoder();

/** Valid lines, the raw material of mutations. */
const CORPUS = [
  "PRIVMSG #fuzz :hello there",
  "NOTICE #fuzz :a notice",
  "JOIN #fuzz",
  "PART #fuzz :bye",
  "TOPIC #fuzz :a topic",
  "NAMES #fuzz",
  "WHO #fuzz",
  "WHOIS ann",
  "MODE #fuzz +b",
  "MODE #fuzz",
  "LIST",
  "AWAY :gone",
  "AWAY",
  "ISON ann bob",
  "USERHOST ann",
  "CAP LS 302",
  "CAP REQ :message-tags server-time",
  "CHATHISTORY LATEST #fuzz * 10",
  "CHATHISTORY BEFORE #fuzz timestamp=2026-01-01T00:00:00.000Z 5",
  "CHATHISTORY TARGETS timestamp=2020-01-01T00:00:00.000Z timestamp=2030-01-01T00:00:00.000Z 5",
  "SEARCH text=hello;in=#fuzz;limit=5",
  'SEARCH :text="unbalanced NEAR( -a * AND;from=ann',
  "SEARCH after=2026-01-01T00:00:00.000Z;before=2030-01-01T00:00:00.000Z",
  "@+draft/reply=abc;+typing=active TAGMSG #fuzz",
  "@label=x :fake!source@host PRIVMSG #fuzz :with source",
  "PING :token",
  "PONG :token",
  "MOTD",
  "LUSERS",
  "VERSION",
  "KICK #fuzz ann :out",
  "AUTHENTICATE PLAIN",
  "AUTHENTICATE *",
];

type Kind = "unknown" | "overlong" | "tags" | "utf8" | "nul" | "cr" | "numeric" | "mutated";

/** What one generated line should get back. */
interface Expectation {
  kind: Kind;
  /** A unique command in the line that the reply names, when there is one. */
  token?: string;
}

/** Builds the fuzz lines of one connection. */
class Generator {
  #next: () => number;
  #prefix: string;
  #counter = 0;

  constructor(seed: number, prefix: string) {
    this.#next = random(seed);
    this.#prefix = prefix;
  }

  int(max: number): number {
    return Math.floor(this.#next() * max);
  }

  #token(): string {
    return `Z${this.#prefix}X${(++this.#counter).toString(36).toUpperCase()}`;
  }

  #text(length: number): string {
    let out = "";
    for (let i = 0; i < length; i++) out += String.fromCharCode(0x21 + this.int(94));
    return out;
  }

  /** One line (without its line ending) and what it should get back. */
  line(): [Uint8Array, Expectation] {
    const roll = this.int(100);
    if (roll < 15) {
      const token = this.#token();
      return [encoder.encode(`${token} ${this.#text(this.int(40))}`), { kind: "unknown", token }];
    }
    if (roll < 25) {
      const body = `PRIVMSG #fuzz :${this.#text(520 + this.int(4000))}`;
      return [encoder.encode(body), { kind: "overlong" }];
    }
    if (roll < 30) {
      const tags = `@${"a=b;".repeat(2100 + this.int(400))}x=y`;
      return [encoder.encode(`${tags} PRIVMSG #fuzz :tagged`), { kind: "tags" }];
    }
    if (roll < 40) {
      const token = this.#token();
      const bytes = [...encoder.encode(`${token} #fuzz :`)];
      for (let i = 0; i < 3 + this.int(20); i++) bytes.push(0x80 + this.int(0x7f));
      bytes.push(0xc3);
      return [new Uint8Array(bytes), { kind: "utf8", token }];
    }
    if (roll < 45) {
      const token = this.#token();
      const bytes = encoder.encode(`${token} #fuzz :nul\0inside`);
      return [bytes, { kind: "nul", token }];
    }
    if (roll < 50) {
      const token = this.#token();
      const bytes = encoder.encode(`${token} #fuzz :lone\r:evil!x@y PRIVMSG #fuzz :spoofed`);
      return [bytes, { kind: "cr", token }];
    }
    if (roll < 60) {
      const numeric = String(1 + this.int(999)).padStart(3, "0");
      return [encoder.encode(`${numeric} ann :${this.#text(10)}`), { kind: "numeric" }];
    }
    return [this.#mutate(), { kind: "mutated" }];
  }

  #mutate(): Uint8Array {
    const bytes = [...encoder.encode(CORPUS[this.int(CORPUS.length)])];
    const mutations = 1 + this.int(4);
    for (let m = 0; m < mutations; m++) {
      const at = this.int(bytes.length + 1);
      switch (this.int(5)) {
        case 0:
          bytes[at] = this.int(256);
          break;
        case 1:
          bytes.splice(at, 0, ...Array.from({ length: 1 + this.int(8) }, () => this.int(256)));
          break;
        case 2:
          bytes.splice(at, 1 + this.int(6));
          break;
        case 3:
          bytes.splice(at, 0, ...bytes.slice(0, this.int(bytes.length)));
          break;
        default:
          bytes.splice(at, 0, 0x20);
      }
    }
    // A stray LF would only split the line in two, and QUIT would end the fuzzing connection.
    const line = bytes.filter((b) => b !== 0x0a);
    const text = new TextDecoder().decode(new Uint8Array(line)).toUpperCase();
    return text.startsWith("QUIT") ? encoder.encode("PING :quit-avoided") : new Uint8Array(line);
  }
}

/** The server's resident set size, KiB. */
function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]);
}

/** Tallies over the whole run. */
interface Tally {
  lines: number;
  byKind: Record<Kind, number>;
  reconnects: number;
  missing: string[];
  /** FAIL INTERNAL_ERROR replies: a handler threw, which no input should make it do. */
  internalErrors: string[];
}

/** Whether `replies` answer `expectation`. */
function answered(expectation: Expectation, replies: Received[]): boolean {
  const { kind, token } = expectation;
  switch (kind) {
    case "unknown":
      return replies.some((m) => m.command === "421" && m.params[1] === token);
    case "utf8":
      return replies.some((m) =>
        m.command === "FAIL" && m.params[0] === token && m.params[1] === "INVALID_UTF8"
      );
    case "nul":
    case "cr":
      return replies.some((m) =>
        m.command === "FAIL" && m.params[0] === token && m.params[1] === "INVALID_CHARACTERS"
      );
    default:
      return true;
  }
}

/** One fuzzing connection: registers, then sends batches until told to stop. */
async function fuzzer(
  port: number,
  index: number,
  tally: Tally,
  shouldStop: () => boolean,
): Promise<void> {
  const generator = new Generator(SEED + index, String(index));
  let client: IrcTestClient | undefined;
  let batch = 0;
  try {
    while (!shouldStop()) {
      if (client === undefined || client.lines.at(-1)?.command === "ERROR") {
        if (client !== undefined) {
          tally.reconnects++;
          await client.close();
        }
        client = await IrcTestClient.connect(port);
        await client.register(`fuzz${index}_${tally.reconnects}`);
        await client.join("#fuzz");
      }
      const parts: Uint8Array[] = [];
      const expectations: Expectation[] = [];
      for (let i = 0; i < BATCH; i++) {
        const [line, expectation] = generator.line();
        parts.push(line, encoder.encode(generator.int(2) ? "\r\n" : "\n"));
        expectations.push(expectation);
        tally.byKind[expectation.kind]++;
      }
      const token = `b${index}.${++batch}`;
      parts.push(encoder.encode(`PING ${token}\r\n`));
      const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let offset = 0;
      for (const part of parts) {
        bytes.set(part, offset);
        offset += part.length;
      }
      const from = client.lines.length;
      // Random cuts: the server must put lines back together across any read boundary.
      for (let at = 0; at < bytes.length;) {
        const size = 1 + generator.int(3000);
        await client.sendBytes(bytes.subarray(at, at + size));
        at += size;
      }
      const pong = await client.waitFor(
        (m) => (m.command === "PONG" && m.params[1] === token) || m.command === "ERROR",
        20_000,
      );
      tally.lines += BATCH;
      if (pong.command === "ERROR") continue;
      const replies = client.lines.slice(from);
      for (const m of replies) {
        if (m.command === "FAIL" && m.params[1] === "INTERNAL_ERROR") {
          tally.internalErrors.push(m.line);
        }
      }
      for (const expectation of expectations) {
        if (!answered(expectation, replies)) {
          tally.missing.push(`${expectation.kind} ${expectation.token} (fuzzer ${index})`);
        }
      }
      const tooLong = replies.filter((m) => m.command === "417").length;
      const wanted = expectations.filter((e) => e.kind === "overlong" || e.kind === "tags").length;
      if (tooLong < wanted) tally.missing.push(`417 ×${wanted - tooLong} (fuzzer ${index})`);
    }
  } finally {
    await client?.close();
  }
}

Deno.test("fuzzing: 100,000 bad lines from many connections leave the server up, bounded and chatting", async () => {
  console.log(`fuzz seed ${SEED} (rerun: SHMOOZE_FUZZ_SEED=${SEED})`);
  await using serve = await startServe({
    args: ["--flood-burst", "0", "--max-conn-per-ip", "64"],
    timeoutMs: 120_000,
  });
  const pid = serve.child.process.pid;
  await using ann = await IrcTestClient.register(serve.port, "ann");
  await using bob = await IrcTestClient.register(serve.port, "bob");
  await ann.join("#lobby");
  await bob.join("#lobby");
  const settledRss = rssKiB(pid);
  let maxRss = settledRss;

  const tally: Tally = {
    lines: 0,
    byKind: { unknown: 0, overlong: 0, tags: 0, utf8: 0, nul: 0, cr: 0, numeric: 0, mutated: 0 },
    reconnects: 0,
    missing: [],
    internalErrors: [],
  };
  const started = Date.now();
  const stop = () => tally.lines >= TARGET_LINES || Date.now() - started > TIME_LIMIT_MS;

  // The well-behaved pair: each says a numbered line in turn and waits for the other to
  // hear it, for as long as the fuzzing lasts.
  let exchanged = 0;
  let slowest = 0;
  const chat = (async () => {
    for (let i = 0; !stop(); i++) {
      const [from, to] = i % 2 === 0 ? [ann, bob] : [bob, ann];
      const text = `tick ${i}`;
      const sent = Date.now();
      await from.send(`PRIVMSG #lobby :${text}`);
      await to.waitFor(
        (m) => m.command === "PRIVMSG" && m.params[0] === "#lobby" && m.params[1] === text,
        10_000,
      );
      slowest = Math.max(slowest, Date.now() - sent);
      exchanged++;
      maxRss = Math.max(maxRss, rssKiB(pid));
    }
  })();
  await Promise.all([
    ...Array.from({ length: FUZZERS }, (_, i) => fuzzer(serve.port, i, tally, stop)),
    chat,
  ]);
  maxRss = Math.max(maxRss, rssKiB(pid));
  const seconds = (Date.now() - started) / 1000;
  console.log(
    `${tally.lines} lines in ${seconds.toFixed(1)} s from ${FUZZERS} connections ` +
      `(${JSON.stringify(tally.byKind)}), ${tally.reconnects} reconnects; ` +
      `${exchanged} chat lines delivered meanwhile, slowest ${slowest} ms; ` +
      `server RSS ${settledRss} KiB settled, ${maxRss} KiB at most`,
  );

  assert.ok(tally.lines >= TARGET_LINES, `only ${tally.lines} lines in ${seconds} s`);
  assert.deepEqual(tally.missing.slice(0, 20), [], "lines without their error reply");
  assert.deepEqual(tally.internalErrors.slice(0, 20), [], "handlers that threw");
  assert.ok(exchanged >= 20, `only ${exchanged} chat lines got through during the fuzzing`);
  assert.ok(
    maxRss - settledRss < RSS_GROWTH_LIMIT_KIB,
    `server RSS grew by ${maxRss - settledRss} KiB`,
  );
  // Still up and still serving newcomers.
  await using carol = await IrcTestClient.register(serve.port, "carol");
  await carol.send("PING :alive");
  await carol.waitFor((m) => m.command === "PONG" && m.params[1] === "alive");
});
