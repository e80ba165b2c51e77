/**
 * The web side against hostile clients, on a real `serve` process: half-sent requests from
 * one address, oversized and malformed WebSocket frames, foreign Host names (DNS
 * rebinding), and a taken HTTP port.
 */
import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";
import { IrcTestClient, outsideAddress, startServe } from "./_irc.ts";
import {
  clientFrame,
  closeCodeFrom,
  handshakeRequest,
  RawClient,
  rawWebSocket,
  serverFrames,
  withTimeout,
} from "./fixtures/web_clients.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The status the server answers a GET with, given the request's header lines. */
async function statusFor(port: number, path: string, headers: string[]): Promise<number> {
  await using client = await RawClient.connect(port);
  await client.send(`GET ${path} HTTP/1.1\r\n${headers.join("\r\n")}\r\nConnection: close\r\n\r\n`);
  return (await client.response()).status;
}

/** The status a WebSocket handshake on `/irc` is answered with. */
async function upgradeStatusFor(port: number, headers: string[]): Promise<number> {
  await using client = await RawClient.connect(port);
  await client.send(handshakeRequest(port, headers));
  return (await client.response()).status;
}

/** A process's resident memory now and at its peak, from /proc (Linux), in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)![1]);
  return { rss: kib("VmRSS") * 1024, peak: kib("VmHWM") * 1024 };
}

Deno.test({
  name:
    "HTTP from one address: past --max-conn-per-ip it is refused with 503, IRC shares the cap, " +
    "half-sent requests are closed at the 10 s head deadline, and another address is served",
  ignore: outsideAddress() === undefined,
  fn: async () => {
    const outside = outsideAddress()!;
    await using serve = await startServe({
      http: true,
      args: ["--host", "0.0.0.0", "--max-conn-per-ip", "4", "--conn-per-minute", "1000"],
    });
    const httpPort = serve.httpPort!;
    const held = await Promise.all([0, 1, 2, 3].map(() => RawClient.connect(httpPort, outside)));
    try {
      for (const client of held) await client.send("GET / HTTP/1.1\r\nHost: x\r\nX: ");
      // The kernel queues connections for accept() in order: this one is the fifth.
      await using extra = await RawClient.connect(httpPort, outside);
      assert.equal((await extra.response()).status, 503);
      assert.match(extra.text, /Too many connections from your IP address \(4\)/);
      assert.equal(await withTimeout(extra.closed, 5000, "the refused connection to close"), "eof");
      await using irc = await IrcTestClient.connect(serve.port, outside);
      const error = await irc.waitFor("ERROR");
      assert.match(error.params[0], /Too many connections from your IP address \(4\)/);

      // Loopback is another address: IRC and HTTP serve it meanwhile.
      await using tom = await IrcTestClient.register(serve.port, "tom");
      await tom.send("PING :alive");
      await tom.waitFor("PONG");
      const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      assert.equal(await health.text(), "ok\n");

      // A byte every 200 ms does not extend the deadline.
      const drip = setInterval(() => held[0].send("a").catch(() => {}), 200);
      try {
        for (const client of held) {
          assert.equal((await client.response(15_000)).status, 408);
          await withTimeout(client.closed, 5000, "the timed-out connection to close");
          const elapsed = performance.now() - client.connectedAt;
          assert.ok(elapsed > 9500 && elapsed < 12_500, `closed after ${elapsed.toFixed(0)} ms`);
        }
      } finally {
        clearInterval(drip);
      }
      // Their places are free again.
      const again = await fetch(`http://${outside}:${httpPort}/healthz`);
      assert.equal(again.status, 200);
      await again.body?.cancel();
    } finally {
      await Promise.all(held.map((client) => client.close()));
    }
  },
});

Deno.test("16 WebSocket frames announced at 63 MiB are each refused with 1009 before their payload", async () => {
  await using serve = await startServe({ http: true, args: ["--max-conn-per-ip", "64"] });
  const sockets = await Promise.all(
    Array.from({ length: 16 }, () => rawWebSocket(serve.httpPort!)),
  );
  try {
    // The header and 8 bytes of payload: a server that waits for the whole frame before
    // checking its size never answers.
    const start = concat(clientFrame(1, 63 * MiB), new Uint8Array(8));
    await Promise.all(sockets.map(({ client }) => client.send(start)));
    for (const { client, framesAt } of sockets) {
      assert.equal(await closeCodeFrom(client, framesAt), 1009);
      await withTimeout(client.closed, 5000, "the connection to close");
    }
  } finally {
    await Promise.all(sockets.map(({ client }) => client.close()));
  }
});

Deno.test("the fragments of one WebSocket message count together against the 16 KiB limit", async () => {
  await using serve = await startServe({ http: true });
  const { client, framesAt } = await rawWebSocket(serve.httpPort!);
  try {
    const half = encoder.encode(`PRIVMSG #lobby :${"x".repeat(10_000)}`);
    await client.send(clientFrame(1, half, { fin: false }));
    // The continuation's header alone brings the message past 16 KiB.
    await client.send(clientFrame(0, 10_000, { fin: true }));
    assert.equal(await closeCodeFrom(client, framesAt), 1009);
  } finally {
    await client.close();
  }
});

Deno.test("the WebSocket framer answers pings, runs the close handshake and refuses bad frames", async (t) => {
  await using serve = await startServe({ http: true });
  const port = serve.httpPort!;
  await t.step("a ping gets a pong with its payload; fragments make one line", async () => {
    const { client, framesAt } = await rawWebSocket(port);
    try {
      await client.send(clientFrame(9, encoder.encode("are you there")));
      await client.send(clientFrame(1, encoder.encode("PING :frag"), { fin: false }));
      await client.send(clientFrame(0, encoder.encode("mented"), { fin: true }));
      const frames = await client.waitFor(
        ({ bytes }) => {
          const frames = serverFrames(bytes.subarray(framesAt));
          return frames.some((f) => f.opcode === 1) ? frames : undefined;
        },
        5000,
        "a text frame",
      );
      assert.deepEqual(frames[0], { opcode: 10, payload: encoder.encode("are you there") });
      assert.match(new TextDecoder().decode(frames[1].payload), /PONG \S+ :?fragmented$/);
      await client.send(clientFrame(8, new Uint8Array([0x03, 0xe9])));
      assert.equal(await closeCodeFrom(client, framesAt), 1001);
      assert.equal(await withTimeout(client.closed, 5000, "the server to close"), "eof");
    } finally {
      await client.close();
    }
  });
  const refusals: [string, Uint8Array, number][] = [
    ["an unmasked frame", clientFrame(1, encoder.encode("PING :x"), { mask: false }), 1002],
    ["invalid UTF-8", clientFrame(1, new Uint8Array([0x50, 0xc3, 0x28])), 1007],
    [
      "a text frame inside a fragmented binary message",
      concat(
        clientFrame(2, encoder.encode("PING"), { fin: false }),
        clientFrame(1, encoder.encode(" :x")),
      ),
      1002,
    ],
    ["an unknown opcode", clientFrame(3, new Uint8Array()), 1002],
    ["a continuation with no message", clientFrame(0, encoder.encode("x")), 1002],
  ];
  for (const [what, frame, code] of refusals) {
    await t.step(`${what} is refused with ${code}`, async () => {
      const { client, framesAt } = await rawWebSocket(port);
      try {
        await client.send(frame);
        assert.equal(await closeCodeFrom(client, framesAt), code);
        // Answering the close lets a server still reading frames close at once; one that
        // has stopped reading (the stream is out of step) has closed already.
        await client.send(clientFrame(8, new Uint8Array([0x03, 0xe8]))).catch(() => {});
        await withTimeout(client.closed, 1000, "the server to close");
      } finally {
        await client.close();
      }
    });
  }
});

Deno.test({
  name: "16 connections streaming 63 MiB WebSocket frames leave the server's memory where it was",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using serve = await startServe({ http: true, args: ["--max-conn-per-ip", "64"] });
    const pid = serve.child.process.pid;
    const sockets = await Promise.all(
      Array.from({ length: 16 }, () => rawWebSocket(serve.httpPort!)),
    );
    try {
      const before = memoryOf(pid).rss;
      // Resets VmHWM to the current RSS, so the peak read after is this test's own.
      Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
      const chunk = new Uint8Array(MiB);
      let sent = 0;
      await Promise.all(sockets.map(async ({ client }) => {
        try {
          await client.send(clientFrame(1, 63 * MiB));
          for (let i = 0; i < 63; i++) {
            await client.send(chunk);
            sent += chunk.length;
          }
        } catch {
          // The server closed the connection: that is the point.
        }
      }));
      for (const { client, framesAt } of sockets) {
        assert.equal(await closeCodeFrom(client, framesAt), 1009);
      }
      await Promise.all(sockets.map(({ client }) => client.close()));
      const { rss: after, peak } = memoryOf(pid);
      console.log(
        `RSS before ${(before / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, ` +
          `after ${(after / MiB).toFixed(0)} MiB; ${(sent / MiB).toFixed(0)} MiB of payload sent`,
      );
      assert.ok(
        peak - before < 64 * MiB,
        `the peak grew by ${((peak - before) / MiB).toFixed(0)} MiB`,
      );
    } finally {
      await Promise.all(sockets.map(({ client }) => client.close()));
    }
  },
});

Deno.test("Host attacker.example is refused with 421 (a WebSocket with 403); IP literals, localhost and --http-allowed-host names are served", async () => {
  await using serve = await startServe({
    http: true,
    args: ["--http-allowed-host", "chat.example"],
  });
  const port = serve.httpPort!;
  const attacker = ["Host: attacker.example"];
  assert.equal(await statusFor(port, "/api/stats", attacker), 421);
  assert.equal(
    await statusFor(port, "/api/stats", [...attacker, "Origin: http://attacker.example"]),
    421,
  );
  assert.equal(await statusFor(port, "/", [`Host: attacker.example:${port}`]), 421);
  assert.equal(await upgradeStatusFor(port, attacker), 403);
  assert.equal(await upgradeStatusFor(port, [...attacker, "Origin: http://attacker.example"]), 403);
  for (const host of [`127.0.0.1:${port}`, `[::1]:${port}`, "localhost", `LOCALHOST:${port}`]) {
    assert.equal(await statusFor(port, "/api/stats", [`Host: ${host}`]), 200, host);
  }
  assert.equal(await statusFor(port, "/api/stats", [`Host: chat.example:${port}`]), 200);
  assert.equal(await statusFor(port, "/healthz", ["Host: Chat.Example."]), 200);
  assert.equal(
    await upgradeStatusFor(port, [
      `Host: chat.example:${port}`,
      `Origin: http://chat.example:${port}`,
    ]),
    101,
  );
});

Deno.test("serve names the HTTP port and --http-port/--no-http when the HTTP port is taken", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-web-limits-" });
  try {
    const { code, stderr } = await spawn([
      "main.ts",
      "serve",
      "--host",
      "127.0.0.1",
      "--port",
      "0",
      "--no-status",
      "--data",
      dataDir,
      "--http-port",
      String(port),
    ]).done;
    assert.equal(code, 1);
    assert.match(
      stderr,
      new RegExp(
        `^error: Cannot listen for HTTP on 127\\.0\\.0\\.1:${port}: .*--http-port.*--no-http`,
        "m",
      ),
    );
    assert.doesNotMatch(stderr, /\bat \S+:\d+:\d+/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("HTTP keeps a connection alive between requests, answers HEAD without a body, 405 to POST and 431 to an oversized head", async () => {
  await using serve = await startServe({ http: true });
  const port = serve.httpPort!;
  await using client = await RawClient.connect(port);
  const host = `Host: 127.0.0.1:${port}`;
  await client.send(`GET /healthz HTTP/1.1\r\n${host}\r\n\r\nHEAD / HTTP/1.1\r\n${host}\r\n\r\n`);
  const [health, page] = await client.waitFor(
    ({ bytes }) => {
      const heads = new TextDecoder().decode(bytes).split(/\r\n\r\n/);
      return heads.length >= 3 ? heads : undefined;
    },
    5000,
    "two answers on one connection",
  );
  assert.match(health, /^HTTP\/1\.1 200 OK\r\n[^]*connection: keep-alive/);
  assert.match(page, /^ok\nHTTP\/1\.1 200 OK\r\n[^]*content-type: text\/html/);
  assert.match(page, /content-length: [1-9]\d*/);
  await client.send(`POST / HTTP/1.1\r\n${host}\r\nContent-Length: 3\r\n\r\nabc`);
  await client.waitFor(
    ({ bytes }) =>
      /HTTP\/1\.1 405 [^]*allow: GET, HEAD/.test(new TextDecoder().decode(bytes)) || undefined,
    5000,
    "405",
  );
  // A body is never read, so the connection cannot go on after one.
  await withTimeout(client.closed, 5000, "the close after a request with a body");
  assert.doesNotMatch(client.text, /<!doctype html>/i, "the HEAD answer carried a body");

  await using big = await RawClient.connect(port);
  await big.send(`GET / HTTP/1.1\r\n${host}\r\nX-Big: ${"a".repeat(9000)}\r\n\r\n`);
  assert.equal((await big.response()).status, 431);
});

Deno.test("serve refuses an --http-allowed-host that is not a host name", async () => {
  const { code, stderr } = await spawn(["main.ts", "serve", "--http-allowed-host", "a b/c"]).done;
  assert.equal(code, 2);
  assert.match(
    stderr,
    /--http-allowed-host must be a host name such as chat\.example\.com, not "a b\/c"/,
  );
});
