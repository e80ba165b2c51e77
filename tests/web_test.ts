/**
 * The web side of `shmooze serve`, end to end: a real Chromium (headless, driven by
 * playwright-core) on the chat page and the monitor, next to raw TCP and WebSocket IRC
 * clients, against a real `serve` process on free ports.
 */
import assert from "node:assert/strict";
import { NICK_LENGTH } from "../src/chat/names.ts";
import { objectName } from "../src/ipc/names.ts";
import type { MonitorSnapshot } from "../src/web/monitor_snapshot.ts";
import {
  ARTIFACTS,
  lineInState,
  login,
  newPage,
  reconnectNow,
  say,
  shownLine,
  startWebServe,
  withBrowser,
  withServe,
} from "./_browser.ts";
import { assertNoLeftovers, uniqueName } from "./_helpers.ts";
import { IrcTestClient } from "./_irc.ts";
import {
  handshakeStatus,
  IrcWebSocketClient,
  RawClient,
  withTimeout,
} from "./fixtures/web_clients.ts";
import { assertArrivedWhole, HISTORY_CAPS, historyTexts, longLine } from "./_long_lines.ts";

Deno.test({
  name: "two browser pages and a TCP client chat in #lobby, and the monitor counts them",
  // playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom");
        await tom.join("#lobby");
        await tom.send("PRIVMSG #lobby :said before the browsers came");

        const ann = await newPage(browser);
        await login(ann.page, serve.url, "ann");
        await shownLine(ann.page, "said before the browsers came").and(
          ann.page.locator("li.history"),
        ).waitFor();

        const bob = await newPage(browser);
        await login(bob.page, serve.url, "bob");

        await say(ann.page, "hello from ann");
        await shownLine(bob.page, "hello from ann").waitFor();
        await tom.waitFor(/^(@\S+ )?:ann!\S+ PRIVMSG #lobby :hello from ann$/);

        await tom.send("PRIVMSG #lobby :hello from tom");
        await shownLine(ann.page, "hello from tom").waitFor();
        await shownLine(bob.page, "hello from tom").waitFor();

        await say(bob.page, "/msg ann just between us");
        const query = ann.page.locator("#buffer-list li", { hasText: "bob" });
        await query.locator(".unread", { hasText: "1" }).waitFor();
        await query.locator("button.open").click();
        await shownLine(ann.page, "just between us").waitFor();
        await ann.page.locator("#buffer-list button.open", { hasText: "#lobby" }).click();

        for (const nick of ["ann", "bob", "tom"]) {
          await ann.page.locator("#user-list button", { hasText: nick }).waitFor();
        }
        await ann.page.screenshot({ path: `${ARTIFACTS}web_chat.png` });

        const monitor = await newPage(browser);
        await monitor.page.goto(`${serve.url}/monitor`);
        // Locators, not a waitForFunction predicate: the page's CSP forbids eval.
        for (const [id, count] of [["websocket", 2], ["tcp", 1], ["total", 3]]) {
          await monitor.page.locator(`#count-${id}`, { hasText: new RegExp(`^${count}$`) })
            .waitFor();
        }
        const lobby = monitor.page.locator("#channels tr[data-channel='#lobby']");
        assert.equal(await lobby.locator("td.num").textContent(), "3");
        await monitor.page.locator("#recent li", { hasText: "hello from tom" }).waitFor();
        assert.equal(
          await monitor.page.locator("#recent li", { hasText: "just between us" }).count(),
          0,
        );
        assert.ok(Number(await monitor.page.textContent("#total-messages")) >= 4);
        await monitor.page.locator("#live", { hasText: "live" }).waitFor();
        await monitor.page.screenshot({ path: `${ARTIFACTS}web_monitor.png`, fullPage: true });
      })
    ),
});

Deno.test({
  name: "the chat page reconnects after the server restarts and rejoins its channels",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "shmooze-web-test-" });
    try {
      await withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        let ports: string[];
        {
          await using first = await startWebServe([], dataDir);
          ports = ["--port", String(first.port), "--http-port", String(first.httpPort)];
          await login(page, first.url, "ann");
          await say(page, "before the restart");
          await shownLine(page, "before the restart").waitFor();
        }
        await page.locator("#status", { hasText: "reconnecting" }).waitFor();
        await using second = await startWebServe(ports, dataDir);
        await page.locator("#status", { hasText: "Connected" }).waitFor({ timeout: 30_000 });
        // Its own nick in the user list: the page has rejoined #lobby on its own.
        await page.locator("#user-list button", { hasText: "ann" }).waitFor();
        await using tom = await IrcTestClient.register(second.port, "tom");
        await tom.send("JOIN #lobby");
        await tom.waitFor((m) =>
          m.command === "353" && m.params.at(-1)!.split(" ").includes("ann")
        );
        await say(page, "after the restart");
        await tom.waitFor(/:ann!\S+ PRIVMSG #lobby :after the restart$/);
        assert.equal(await shownLine(page, "before the restart").count(), 1);
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the monitor shows the bridged local room's ring occupancy",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const room = uniqueName("web-room");
    {
      await using serve = await startWebServe(["--local-room", room]);
      await serve.child.waitForLine(`bridging local room ${room} with #lobby`);
      await using tom = await IrcTestClient.register(serve.port, "tom");
      await tom.join("#lobby");
      await tom.send("PRIVMSG #lobby :into the ring");
      await tom.send("PING :sync");
      await tom.waitFor(/PONG .*sync/);
      const stats = async () =>
        (await (await fetch(`${serve.url}/api/stats`)).json()) as MonitorSnapshot;
      const before = (await stats()).localRoom!;
      assert.equal(before.room, room);
      await withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        await page.goto(`${serve.url}/monitor`);
        await page.locator("#local-room").waitFor({ state: "visible" });
        await page.locator("#room-name", { hasText: room }).waitFor();
        assert.equal(await page.textContent("#room-capacity"), String(before.capacity));
        assert.ok(Number(await page.textContent("#room-used")) >= 1);
        assert.ok(Number(await page.textContent("#room-seq")) >= 1);
      });
      // SIGTERM: the bridge leaves the room, and the last one out removes it.
      serve.child.process.kill("SIGTERM");
      assert.equal((await serve.child.done).code, 0);
    }
    assertNoLeftovers(objectName("room", room));
  },
});

Deno.test("/healthz answers ok and /metrics counts clients by transport", async () => {
  await withServe(async (serve) => {
    const health = await fetch(`${serve.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), "ok\n");

    await using tom = await IrcTestClient.register(serve.port, "tom");
    const web = await IrcWebSocketClient.open(serve.httpPort);
    try {
      await tom.join("#lobby");
      await tom.send("PRIVMSG #lobby :one");
      await tom.send("PRIVMSG #lobby :two");
      await tom.send("PING :sync");
      await tom.waitFor(/PONG .*sync/);
      const response = await fetch(`${serve.url}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
      const metrics = await response.text();
      assert.match(metrics, /^shmooze_clients\{transport="tcp"\} 1$/m);
      assert.match(metrics, /^shmooze_clients\{transport="local"\} 0$/m);
      assert.match(metrics, /^shmooze_messages_total 2$/m);
      assert.match(metrics, /^shmooze_channels [1-9]\d*$/m);
      assert.match(metrics, /^shmooze_uptime_seconds \d+(\.\d+)?$/m);
      assert.match(metrics, /^process_resident_memory_bytes [1-9]\d*$/m);
      assert.match(metrics, /^# TYPE shmooze_messages_total counter$/m);
    } finally {
      await web.close();
    }
  });
});

Deno.test("the IRC WebSocket refuses another site's page with 403 and accepts allowed origins", async () => {
  await withServe(async (serve) => {
    assert.equal(await handshakeStatus(serve.httpPort, "http://evil.example"), 403);
    assert.equal(await handshakeStatus(serve.httpPort, "null"), 403);
    assert.equal(await handshakeStatus(serve.httpPort, `http://127.0.0.1:${serve.httpPort}`), 101);
    assert.equal(await handshakeStatus(serve.httpPort, "https://chat.example"), 101);
    assert.equal(await handshakeStatus(serve.httpPort), 101);
  }, ["--allowed-origin", "https://chat.example"]);
});

Deno.test("IRC over WebSocket answers an over-long line with 417 and keeps the connection", async () => {
  await withServe(async (serve) => {
    const web = await IrcWebSocketClient.open(serve.httpPort);
    try {
      web.socket.send("NICK wendy");
      web.socket.send("USER wendy 0 * :wendy");
      await web.waitFor(/ 001 wendy /);
      assert.ok(!web.lines.some((line) => line.includes("\r") || line.includes("\n")));
      web.socket.send(`PRIVMSG #lobby :${"x".repeat(600)}`);
      await web.waitFor(/ 417 wendy /);
      web.socket.send("PING :still-here");
      await web.waitFor(/PONG .*still-here/);
    } finally {
      await web.close();
    }
  });
});

Deno.test("IRC over WebSocket speaks binary.ircv3.net and text.ircv3.net, whichever the client prefers", async () => {
  await withServe(async (serve) => {
    await using tcp = await IrcTestClient.register(serve.port, "tcp");
    const offers: [string[], string][] = [
      [["binary.ircv3.net"], "binary.ircv3.net"],
      [["binary.ircv3.net", "text.ircv3.net"], "binary.ircv3.net"],
      [["text.ircv3.net", "binary.ircv3.net"], "text.ircv3.net"],
    ];
    for (const [i, [offered, chosen]] of offers.entries()) {
      const web = await IrcWebSocketClient.open(serve.httpPort, offered);
      try {
        assert.equal(web.socket.protocol, chosen);
        const binary = chosen === "binary.ircv3.net";
        const send = (line: string) =>
          web.socket.send(binary ? new TextEncoder().encode(line) : line);
        send(`NICK web${i}`);
        send(`USER web${i} 0 * :web`);
        await web.waitFor(new RegExp(` 001 web${i} `));
        send("PRIVMSG tcp :caf\u00e9");
        assert.equal(
          (await tcp.waitFor("PRIVMSG")).line,
          `:web${i}!web${i}@127.0.0.1 PRIVMSG tcp :caf\u00e9`,
        );
        await tcp.send(`PRIVMSG web${i} :th\u00e9`);
        await web.waitFor(/PRIVMSG web\d :th\u00e9$/);
        assert.deepEqual(new Set(web.frames), new Set([binary ? "binary" : "text"]));
      } finally {
        await web.close();
      }
    }
  });
});

Deno.test("a binary frame on a text.ircv3.net connection is read as lines; one that is not UTF-8 gets FAIL INVALID_UTF8", async () => {
  await withServe(async (serve) => {
    const web = await IrcWebSocketClient.open(serve.httpPort);
    try {
      web.socket.send(new TextEncoder().encode("NICK wendy\r\nUSER wendy 0 * :wendy"));
      await web.waitFor(/ 001 wendy /);
      web.socket.send(new Uint8Array([...new TextEncoder().encode("PRIVMSG wendy :caf"), 0xe9]));
      await web.waitFor(/^\S+ FAIL PRIVMSG INVALID_UTF8 /);
      web.socket.send("PING :still-here");
      await web.waitFor(/PONG .*still-here/);
      assert.deepEqual(new Set(web.frames), new Set(["text"]));
    } finally {
      await web.close();
    }
  });
});

Deno.test("a WebSocket frame over the size cap closes the socket with 1009", async () => {
  await withServe(async (serve) => {
    const web = await IrcWebSocketClient.open(serve.httpPort);
    web.socket.send(`PRIVMSG #lobby :${"x".repeat(64 * 1024)}`);
    assert.equal(await withTimeout(web.closed, 5000, "the socket to close"), 1009);
  });
});

Deno.test("/monitor/events streams JSON snapshots with clients, channels and the rate", async () => {
  await withServe(async (serve) => {
    await using tom = await IrcTestClient.register(serve.port, "tom");
    await tom.join("#lobby");
    const response = await fetch(`${serve.url}/monitor/events`);
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = "";
    try {
      while (!/event: stats\ndata: .*\n\n/.test(received)) {
        const { value, done } = await withTimeout(reader.read(), 5000, "an event");
        if (done) break;
        received += value;
      }
    } finally {
      await reader.cancel();
    }
    const data = JSON.parse(/event: stats\ndata: (.*)\n\n/.exec(received)![1]);
    assert.equal(data.clientsByTransport.tcp, 1);
    assert.equal(data.messagesPerSecond.length, 59);
    assert.deepEqual(
      data.channels.find((c: { name: string }) => c.name === "#lobby").members,
      ["tom"],
    );
  });
});

Deno.test("IRC, HTTP and WebSocket connections from one address share one cap, and a WebSocket counts once", async () => {
  await withServe(async (serve) => {
    // The WebSocket was an HTTP connection: admitted once, it holds one place, not two.
    const web = await IrcWebSocketClient.open(serve.httpPort);
    try {
      web.socket.send("NICK wendy");
      web.socket.send("USER wendy 0 * :wendy");
      await web.waitFor(/ 001 wendy /);
      await using tom = await IrcTestClient.register(serve.port, "tom");
      assert.equal(tom.nick, "tom");
      // Both places taken: another HTTP connection is refused before it is read, and
      // another IRC connection with an ERROR.
      await using refused = await RawClient.connect(serve.httpPort);
      assert.equal((await refused.response()).status, 503);
      assert.match(refused.text, /Too many connections from your IP address \(2\)/);
      await using three = await IrcTestClient.connect(serve.port);
      assert.match((await three.waitFor("ERROR")).params[0], /Too many connections from your IP/);
    } finally {
      await web.close();
    }
  }, ["--max-conn-per-ip", "2"]);
});

Deno.test({
  name: "the chat page queues a line typed while disconnected and sends it once after the restart",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "shmooze-web-test-" });
    try {
      await withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        let ports: string[];
        {
          await using first = await startWebServe([], dataDir);
          ports = ["--port", String(first.port), "--http-port", String(first.httpPort)];
          await login(page, first.url, "ann");
        }
        await page.locator("#status", { hasText: "reconnecting" }).waitFor();
        await say(page, "typed while the server was down");
        await lineInState(page, "queued", "typed while the server was down").waitFor();
        await using second = await startWebServe(ports, dataDir);
        await reconnectNow(page);
        await lineInState(page, "sent", "typed while the server was down").waitFor();
        await using tom = await IrcTestClient.register(second.port, "tom", { caps: HISTORY_CAPS });
        await tom.join("#lobby");
        const texts = await historyTexts(tom, "#lobby");
        assert.deepEqual(texts.filter((t) => t === "typed while the server was down").length, 1);
        assert.equal(await shownLine(page, "typed while the server was down").count(), 1);
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the chat page sends again, once, a line the server never got before the connection dropped",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dataDir = await Deno.makeTempDir({ prefix: "shmooze-web-test-" });
    try {
      await withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        let ports: string[];
        {
          await using first = await startWebServe([], dataDir);
          ports = ["--port", String(first.port), "--http-port", String(first.httpPort)];
          await login(page, first.url, "ann");
          await say(page, "the line before");
          await lineInState(page, "sent", "the line before").waitFor();
          // Frozen, the server takes the line into its socket buffer and never reads it;
          // killed, it drops the connection with the line still unanswered.
          first.child.process.kill("SIGSTOP");
          await say(page, "in flight when the server died");
          await lineInState(page, "sending", "in flight when the server died").waitFor();
          first.child.process.kill("SIGKILL");
          await first.child.done;
          await lineInState(page, "checking", "in flight when the server died").waitFor();
        }
        await using second = await startWebServe(ports, dataDir);
        await reconnectNow(page);
        await lineInState(page, "sent", "in flight when the server died").waitFor();
        await using tom = await IrcTestClient.register(second.port, "tom", { caps: HISTORY_CAPS });
        await tom.join("#lobby");
        const texts = await historyTexts(tom, "#lobby");
        assert.deepEqual(texts.slice(-2), ["the line before", "in flight when the server died"]);
        assert.equal(await shownLine(page, "in flight when the server died").count(), 1);
      });
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});

Deno.test({
  name: "the chat page sends a 600-character line whole, cut between words within the line limit",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom");
        await tom.join("#lobby");
        const { page } = await newPage(browser);
        await login(page, serve.url, "ann");
        const text = longLine("browser");
        await say(page, text);
        const lines = [await tom.waitFor(/ PRIVMSG #lobby :browser /)];
        const letters = (pieces: string[]) => pieces.join("").replaceAll(" ", "").length;
        while (letters(lines.map((m) => m.params[1])) < letters([text])) {
          lines.push(await tom.waitFor(/:ann!\S+ PRIVMSG #lobby :/));
          if (lines.length > 5) break;
        }
        assertArrivedWhole(lines, text);
        const sent = page.locator('.log:not([hidden]) li[data-state="sent"]');
        await sent.nth(lines.length - 1).waitFor();
        assert.equal(await sent.count(), lines.length);
        assert.equal(await page.locator(".log li[data-state]:not([data-state=sent])").count(), 0);
      })
    ),
});

/**
 * A TCP proxy in front of the server's HTTP port that can stop passing the server's replies
 * on, then cut every connection: a line the server got whose echo the page never saw.
 */
class ReplyCuttingProxy implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #conns = new Set<Deno.Conn>();
  readonly #pumps: Promise<void>[] = [];
  readonly #accepting: Promise<void>;
  #holding = false;

  constructor(target: number) {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#listener = listener;
    this.#accepting = (async () => {
      for await (const conn of listener) {
        const upstream = await Deno.connect({ hostname: "127.0.0.1", port: target });
        this.#conns.add(conn).add(upstream);
        this.#pumps.push(this.#pump(conn, upstream, false), this.#pump(upstream, conn, true));
      }
    })().catch(() => {});
  }

  /** The proxy's address, as the page's origin. */
  get url(): string {
    return `http://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  /** From now on the server's bytes are dropped, not passed on. */
  holdReplies(): void {
    this.#holding = true;
  }

  /** Closes every connection; new ones are passed through whole again. */
  cut(): void {
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
    this.#holding = false;
  }

  async #pump(from: Deno.Conn, to: Deno.Conn, replies: boolean): Promise<void> {
    const buffer = new Uint8Array(16 * 1024);
    try {
      while (true) {
        const n = await from.read(buffer);
        if (n === null) break;
        if (replies && this.#holding) continue;
        let written = 0;
        while (written < n) written += await to.write(buffer.subarray(written, n));
      }
    } catch {
      // Closed by cut() or by the other side.
    }
    for (const conn of [from, to]) {
      if (this.#conns.delete(conn)) conn.close();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    this.cut();
    await this.#accepting;
    await Promise.all(this.#pumps);
  }
}

Deno.test({
  name:
    "the chat page does not send again a line the server got when its echo was lost with the connection",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        await using tom = await IrcTestClient.register(serve.port, "tom", { caps: HISTORY_CAPS });
        await tom.join("#lobby");
        await using proxy = new ReplyCuttingProxy(serve.httpPort);
        const { page } = await newPage(browser);
        await login(page, proxy.url, "ann");
        await say(page, "the line before");
        await lineInState(page, "sent", "the line before").waitFor();
        proxy.holdReplies();
        await say(page, "arrived, but its echo was lost");
        await tom.waitFor(/:ann!\S+ PRIVMSG #lobby :arrived, but its echo was lost$/);
        await lineInState(page, "sending", "arrived, but its echo was lost").waitFor();
        proxy.cut();
        await lineInState(page, "checking", "arrived, but its echo was lost").waitFor();
        await reconnectNow(page);
        await lineInState(page, "sent", "arrived, but its echo was lost").waitFor();
        const texts = await historyTexts(tom, "#lobby");
        assert.equal(texts.filter((t) => t === "arrived, but its echo was lost").length, 1);
        assert.equal(await shownLine(page, "arrived, but its echo was lost").count(), 1);
      })
    ),
});

Deno.test({
  name: "the chat page shows a line the server refuses as not sent",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        await login(page, serve.url, "ann");
        await say(page, "/msg nobody-here are you there?");
        await lineInState(page, "failed", "are you there?").waitFor();
      })
    ),
});

Deno.test({
  name: "the chat page takes a nick as long as the server's NICKLEN",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        const { page } = await newPage(browser);
        await login(page, serve.url, `ann${"x".repeat(NICK_LENGTH - 3)}`);
      })
    ),
});

Deno.test({
  name:
    "the chat page asks for another nick, rather than retry forever, when its variants are taken",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    withServe((serve) =>
      withBrowser(async (browser) => {
        // A nick of NICKLEN cannot grow a "_": its variants replace its last characters.
        const nick = `ann${"x".repeat(NICK_LENGTH - 3)}`;
        const taken = [nick, `${nick.slice(0, -1)}_`, `${nick.slice(0, -2)}_`];
        await using _one = await IrcTestClient.register(serve.port, taken[0]);
        await using _two = await IrcTestClient.register(serve.port, taken[1]);
        await using _three = await IrcTestClient.register(serve.port, taken[2]);
        const { page } = await newPage(browser);
        await page.goto(serve.url);
        await page.fill("#nick", nick);
        await page.click("#login button[type=submit]");
        await page.locator("#login-error", { hasText: "in use" }).waitFor();
        assert.ok(await page.locator("#login-view").isVisible());
      })
    ),
});
