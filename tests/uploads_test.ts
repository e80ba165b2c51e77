/**
 * File upload end to end, over real HTTP: accounts registered over IRC upload at `/upload`
 * (HTTP Basic, the login throttle), files are served back with headers that keep them from
 * running, limits are decided from the request head, path tricks find nothing, retention
 * removes old files, `draft/FILEHOST` is advertised only when uploads are on, and a server
 * killed mid-upload never serves half a file.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";
import { AccountStore } from "../src/chat/accounts.ts";
import { FileStore } from "../src/chat/file_store.ts";
import { startHttpTransport } from "../src/server/http_transport.ts";
import type { ChatServer, ServerOptions } from "../src/server/server.ts";
import { accountAuthenticator } from "../src/web/http_auth.ts";
import type { WebServer, WebServerOptions } from "../src/web/web_server.ts";
import { serveCommand } from "../src/cli/serve.ts";
import { PASSWORD, registeredUser, withAccounts } from "./_accounts.ts";
import { waitUntil } from "./_helpers.ts";
import { IrcTestClient, outsideAddress, startServe } from "./_irc.ts";
import { RawClient, withTimeout } from "./fixtures/web_clients.ts";

const encoder = new TextEncoder();
const PNG = Deno.readFileSync(new URL("../docs/img/monitor.png", import.meta.url));
const DAY_MS = 86_400_000;

/** A server with accounts and uploads, its web side on a free port, and its data directory. */
interface UploadServer {
  server: ChatServer;
  web: WebServer;
  dataDir: string;
  /** `http://127.0.0.1:PORT` */
  origin: string;
}

async function withUploads(
  options: ServerOptions & { web?: WebServerOptions },
  body: (context: UploadServer) => Promise<void>,
): Promise<void> {
  const { web: webOptions, ...serverOptions } = options;
  await withAccounts(serverOptions, async (server, dataDir) => {
    const web = await startHttpTransport(server, { port: 0, ...webOptions });
    try {
      await body({ server, web, dataDir, origin: `http://127.0.0.1:${web.port}` });
    } finally {
      await server.close();
      await web.shutdown();
    }
  });
}

function basic(account: string, password = PASSWORD): string {
  return `Basic ${btoa(`${account}:${password}`)}`;
}

/** Registers an account over IRC and hangs up. */
async function account(server: ChatServer, nick: string): Promise<void> {
  await using _client = await registeredUser(server.port, nick);
}

interface Uploaded {
  status: number;
  headers: Headers;
  text: string;
}

async function upload(
  origin: string,
  bytes: Uint8Array<ArrayBuffer>,
  headers: Record<string, string> = {},
): Promise<Uploaded> {
  const response = await fetch(`${origin}/upload`, { method: "POST", headers, body: bytes });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, bytes: await response.bytes() };
}

Deno.test("a logged-in account uploads an image and a text file; each is served with its sniffed type, nosniff, a sandbox CSP, the image inline and the text as an attachment", async () => {
  await withUploads({}, async ({ server, origin }) => {
    await account(server, "ann");
    // The client's Content-Type and name are not believed: the bytes decide.
    const image = await upload(origin, PNG, {
      authorization: basic("ann"),
      "content-type": "text/html",
      "content-disposition": `attachment; filename*=UTF-8''caf%C3%A9%20screen.png`,
    });
    assert.equal(image.status, 201, image.text);
    const imageJson = JSON.parse(image.text);
    assert.equal(image.headers.get("location"), imageJson.url);
    assert.match(
      imageJson.url,
      /^http:\/\/127\.0\.0\.1:\d+\/files\/[A-Za-z0-9_-]{24}\/caf%C3%A9%20screen\.png$/,
    );
    assert.deepEqual(
      { name: imageJson.name, type: imageJson.type, size: imageJson.size },
      { name: "café screen.png", type: "image/png", size: PNG.length },
    );
    const served = await get(imageJson.url);
    assert.equal(served.status, 200);
    assert.deepEqual(served.bytes, PNG);
    assert.equal(served.headers.get("content-type"), "image/png");
    assert.equal(served.headers.get("content-length"), String(PNG.length));
    assert.equal(served.headers.get("x-content-type-options"), "nosniff");
    assert.equal(served.headers.get("content-security-policy"), "default-src 'none'; sandbox");
    assert.equal(
      served.headers.get("content-disposition"),
      `inline; filename="caf_ screen.png"; filename*=UTF-8''caf%C3%A9%20screen.png`,
    );
    assert.equal(served.headers.get("cache-control"), "private, max-age=31536000, immutable");

    const text = "Notes from the OS course: semaphores, shared memory.\n";
    const notes = await upload(origin, encoder.encode(text), {
      authorization: basic("ann"),
      "content-type": "image/png",
      "content-disposition": `attachment; filename="notes"`,
    });
    assert.equal(notes.status, 201, notes.text);
    const notesUrl = JSON.parse(notes.text).url;
    const servedNotes = await get(notesUrl);
    assert.equal(new TextDecoder().decode(servedNotes.bytes), text);
    assert.equal(servedNotes.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(
      servedNotes.headers.get("content-disposition"),
      `attachment; filename="notes.txt"; filename*=UTF-8''notes.txt`,
    );
    assert.equal(servedNotes.headers.get("x-content-type-options"), "nosniff");

    // HEAD, a range, and a revalidation.
    const head = await fetch(notesUrl, { method: "HEAD" });
    await head.body?.cancel();
    assert.equal(head.headers.get("content-length"), String(text.length));
    const range = await get(notesUrl, { range: "bytes=10-18" });
    assert.equal(range.status, 206);
    assert.equal(new TextDecoder().decode(range.bytes), text.slice(10, 19));
    assert.equal(range.headers.get("content-range"), `bytes 10-18/${text.length}`);
    const unsatisfiable = await get(notesUrl, { range: `bytes=${text.length}-` });
    assert.equal(unsatisfiable.status, 416);
    const etag = servedNotes.headers.get("etag")!;
    const again = await get(notesUrl, { "if-none-match": etag });
    assert.equal(again.status, 304);
    assert.equal(again.bytes.length, 0);
    // The name in the link is for people: the id alone finds the file.
    const byId = await get(notesUrl.slice(0, notesUrl.lastIndexOf("/")));
    assert.equal(byId.status, 200);
  });
});

Deno.test("an uploaded HTML page and SVG image are served as plain-text attachments with nosniff and a sandbox CSP, so they cannot run", async () => {
  await withUploads({}, async ({ server, origin }) => {
    await account(server, "mallory");
    const pages = {
      "evil.html": "<!doctype html><script>document.title = 'ran'</script><p>hi</p>\n",
      "evil.svg": `<svg xmlns="http://www.w3.org/2000/svg" onload="document.title='ran'"/>\n`,
    };
    for (const [name, page] of Object.entries(pages)) {
      const uploaded = await upload(origin, encoder.encode(page), {
        authorization: basic("mallory"),
        "content-type": name.endsWith(".svg") ? "image/svg+xml" : "text/html",
        "content-disposition": `attachment; filename="${name}"`,
      });
      assert.equal(uploaded.status, 201, uploaded.text);
      const { url, type } = JSON.parse(uploaded.text);
      assert.equal(type, "text/plain");
      const served = await get(url);
      assert.equal(served.headers.get("content-type"), "text/plain; charset=utf-8");
      assert.equal(
        served.headers.get("content-disposition"),
        `attachment; filename="${name}.txt"; filename*=UTF-8''${name}.txt`,
      );
      assert.equal(served.headers.get("x-content-type-options"), "nosniff");
      assert.equal(served.headers.get("content-security-policy"), "default-src 'none'; sandbox");
    }
  });
});

const CHROMIUM = "/usr/bin/chromium";

Deno.test({
  name: "Chromium shows an uploaded PNG and downloads an uploaded HTML page instead of running it",
  ignore: !(() => {
    try {
      return Deno.statSync(CHROMIUM).isFile;
    } catch {
      return false;
    }
  })(),
  // playwright-core keeps its pipe to the browser open in ways Deno's sanitizers count.
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await withUploads({}, async ({ server, origin }) => {
      await account(server, "ann");
      const image = JSON.parse((await upload(origin, PNG, { authorization: basic("ann") })).text);
      const page = JSON.parse(
        (await upload(
          origin,
          encoder.encode("<script>document.title = 'ran'</script>"),
          { authorization: basic("ann"), "content-disposition": `attachment; filename="x.html"` },
        )).text,
      );
      const browser: Browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
        timeout: 30_000,
      });
      try {
        const context = await browser.newContext({ acceptDownloads: true });
        const tab = await context.newPage();
        await tab.goto(image.url, { timeout: 15_000 });
        const width = await tab.evaluate(() =>
          (globalThis as unknown as { document: { images: { naturalWidth: number }[] } })
            .document.images[0]?.naturalWidth ?? 0
        );
        assert.ok(width > 0, "the PNG is shown");
        const download = tab.waitForEvent("download", { timeout: 15_000 });
        await tab.goto(page.url, { timeout: 15_000 }).catch(() => {/* a download aborts it */});
        assert.equal((await download).suggestedFilename(), "x.html.txt");
        assert.notEqual(await tab.title(), "ran");
      } finally {
        await withTimeout(browser.close(), 15_000, "the browser to close");
      }
    });
  },
});

Deno.test("an upload over the size limit is answered 413 from its head, before a byte of its body is sent", async () => {
  await withUploads({ uploads: { maxFileBytes: 1024 } }, async ({ server, web }) => {
    await account(server, "ann");
    for (const authorization of [basic("ann"), undefined]) {
      await using client = await RawClient.connect(web.port);
      await client.send(
        "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1025\r\n" +
          (authorization ? `Authorization: ${authorization}\r\n` : "") + "\r\n",
      );
      const response = await client.response();
      assert.equal(response.status, 413);
      assert.match(client.text, /The file is 1025 bytes; at most 1024 are accepted/);
      assert.equal(await withTimeout(client.closed, 5000, "the close"), "eof");
    }
    assert.deepEqual([...Deno.readDirSync(server.files!.directory)], []);
  });
});

Deno.test("a client that sends an oversized body without waiting gets to send it and reads the 413, not a reset", async () => {
  await withUploads({ uploads: { maxFileBytes: 1024 } }, async ({ web }) => {
    await using client = await RawClient.connect(web.port);
    const size = 8 * 1024 * 1024;
    await client.send(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${size}\r\n\r\n`,
    );
    // The body follows at once, as browsers send it, and a browser whose send fails reports
    // a reset, not the answer: the server must take the bytes until the client is done.
    await client.send(new Uint8Array(size));
    assert.equal((await client.response()).status, 413);
    assert.match(client.text, /at most 1024 are accepted/);
    assert.equal(await withTimeout(client.closed, 5000, "the close"), "eof");
  });
});

Deno.test("a client that asks 100-continue gets it once the upload is accepted, and a request without a length gets 411", async () => {
  await withUploads({}, async ({ server, web }) => {
    await account(server, "ann");
    const body = "twelve bytes";
    await using client = await RawClient.connect(web.port);
    await client.send(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic("ann")}\r\n` +
        `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await client.waitFor(
      ({ bytes }) =>
        new TextDecoder().decode(bytes).startsWith("HTTP/1.1 100 Continue\r\n\r\n") || undefined,
      5000,
      "100 Continue",
    );
    await client.send(body);
    await client.waitFor(
      ({ bytes }) => /HTTP\/1\.1 201 Created/.test(new TextDecoder().decode(bytes)) || undefined,
      5000,
      "201",
    );

    for (const framing of ["", "Transfer-Encoding: chunked\r\n"]) {
      await using raw = await RawClient.connect(web.port);
      await raw.send(`POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\n${framing}\r\n`);
      assert.equal((await raw.response()).status, 411);
    }
  });
});

Deno.test("a session token from TOKEN GENERATE uploads as Authorization: Bearer until TOKEN REVOKE", async () => {
  await withUploads({}, async ({ origin, server }) => {
    await using ann = await registeredUser(server.port, "ann");
    await ann.send("TOKEN GENERATE");
    const answer = await ann.waitFor((m) => m.command === "TOKEN" || m.command === "FAIL");
    assert.equal(answer.command, "TOKEN", answer.line);
    const authorization = `Bearer ${answer.params[0]}`;
    const uploaded = await upload(origin, encoder.encode("notes"), { authorization });
    assert.equal(uploaded.status, 201, uploaded.text);
    const revoked = await ann.reply(`TOKEN REVOKE ${answer.params[0]}`);
    assert.ok(revoked.some((m) => m.line === ":shmooze TOKEN REVOKED"), "revoked");
    const refused = await upload(origin, encoder.encode("notes"), { authorization });
    assert.equal(refused.status, 401, refused.text);
    assert.match(refused.text, /session token is not valid/);
  });
});

Deno.test("a wrong password is answered 401 after the login throttle's wait, no account or no credentials 401 with a Basic challenge, a session token 401 with a Bearer one", async () => {
  await withUploads({}, async ({ server, origin }) => {
    await account(server, "ann");
    const bytes = encoder.encode("x");
    const none = await upload(origin, bytes);
    assert.equal(none.status, 401);
    assert.equal(none.headers.get("www-authenticate"), 'Basic realm="shmooze", charset="UTF-8"');
    const nobody = await upload(origin, bytes, { authorization: basic("nobody") });
    assert.equal(nobody.status, 401);
    assert.match(nobody.text, /Invalid account or password/);
    const token = await upload(origin, bytes, { authorization: "Bearer abc" });
    assert.equal(token.status, 401);
    assert.match(
      token.headers.get("www-authenticate")!,
      /^Bearer realm="shmooze", error="invalid_token"/,
    );
    // Three failures are free for one account from one address; the fourth waits a second
    // after the third failure, which the server counts after the third request was sent: so
    // from that send to the fourth answer is at least a second, however loaded the machine.
    let thirdSent = 0;
    for (let i = 0; i < 3; i++) {
      thirdSent = performance.now();
      assert.equal(
        (await upload(origin, bytes, { authorization: basic("ann", "wrong") })).status,
        401,
      );
    }
    const fourth = await upload(origin, bytes, { authorization: basic("ann", "wrong") });
    const waited = performance.now() - thirdSent;
    assert.equal(fourth.status, 401);
    // (less 10 ms: the server reckons in whole milliseconds of Date.now())
    assert.ok(
      waited >= 990,
      `the fourth wrong password was answered ${waited} ms after the third`,
    );
    assert.equal(server.files!.usage("ann").files, 0);
  });
});

Deno.test("accountAuthenticator answers 429 with Retry-After seconds when attempts pile up past the throttle's longest wait", async () => {
  const dir = await Deno.makeTempDir({ prefix: "shmooze-uploads-test-" });
  const accounts = AccountStore.open(dir, {
    hashCost: { memoryKiB: 64, iterations: 1 },
    loginThrottle: { freePerAccountAddress: 0, firstDelayMs: 20, maxDelayMs: 50 },
  });
  try {
    await accounts.register("ann", PASSWORD, "127.0.0.1");
    const auth = accountAuthenticator(accounts);
    // Five different wrong passwords: the same one sent in parallel would share one check.
    const request = (i: number) => ({
      headers: new Headers({ authorization: basic("ann", `wrong${i}`) }),
      remoteAddress: "127.0.0.1",
      secure: false,
    });
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => auth.authenticate(request(i))));
    const refused = results.find((result) => !result.ok && result.status === 429);
    assert.ok(refused && !refused.ok, JSON.stringify(results));
    assert.ok(refused.retryAfterSeconds! >= 1);
    assert.match(refused.message, /too many attempts are waiting/);
  } finally {
    accounts.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "a password sent over plain HTTP from another machine is refused with 403 unchecked",
  ignore: outsideAddress() === undefined,
  async fn() {
    const outside = outsideAddress()!;
    await withUploads(
      { hostname: "0.0.0.0", web: { hostname: "0.0.0.0" } },
      async ({ server, web }) => {
        await account(server, "ann");
        const response = await upload(`http://${outside}:${web.port}`, encoder.encode("x"), {
          authorization: basic("ann"),
        });
        assert.equal(response.status, 403);
        assert.match(response.text, /only over HTTPS/);
      },
    );
  },
});

Deno.test("a page of another site cannot make a visitor's browser upload (Origin checked)", async () => {
  await withUploads({}, async ({ server, origin }) => {
    await account(server, "ann");
    const foreign = await upload(origin, encoder.encode("x"), {
      authorization: basic("ann"),
      origin: "https://evil.example",
    });
    assert.equal(foreign.status, 403);
    const own = await upload(origin, encoder.encode("x"), { authorization: basic("ann"), origin });
    assert.equal(own.status, 201, own.text);
  });
});

Deno.test("path tricks under /files/ are 404 and reach nothing outside DIR/files/", async () => {
  await withUploads({}, async ({ server, origin, dataDir }) => {
    await account(server, "ann");
    const { url } = JSON.parse(
      (await upload(origin, encoder.encode("mine\n"), { authorization: basic("ann") })).text,
    );
    const id = new URL(url).pathname.split("/")[2];
    Deno.writeTextFileSync(join(dataDir, "secret"), "not for you");
    const paths = [
      "/files/..%2fsecret",
      "/files/..%2F..%2Fetc%2Fpasswd",
      "/files/%2e%2e/secret",
      "/files/../secret",
      "/files/../files.sqlite",
      `/files/${id}/../../secret`,
      `/files/${id}%00`,
      `/files/${id}.partial`,
      `/files/${id.slice(0, -1)}A`,
      `/files/${"A".repeat(24)}`,
      `/files/${id}/${"a".repeat(1201)}`,
      "/files/",
      "/files",
    ];
    for (const path of paths) {
      await using client = await RawClient.connect(Number(new URL(origin).port));
      await client.send(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      const response = await client.response();
      assert.equal(response.status, 404, path);
      await client.closed;
      assert.doesNotMatch(client.text, /not for you|SQLite|root:/, path);
    }
    // A NUL in the target is no path at all.
    await using nul = await RawClient.connect(Number(new URL(origin).port));
    await nul.send(`GET /files/${id}\0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    assert.ok([400, 404].includes((await nul.response()).status));
    assert.equal((await get(url)).status, 200);
  });
});

Deno.test("per-account limits: the bytes stored (507), the uploads in an hour (429 with Retry-After); another account is not affected", async () => {
  await withUploads(
    { uploads: { quotaBytes: 1000, uploadsPerHour: 3 } },
    async ({ server, origin }) => {
      await account(server, "ann");
      await account(server, "bob");
      const ann = { authorization: basic("ann") };
      assert.equal((await upload(origin, new Uint8Array(600), ann)).status, 201);
      const over = await upload(origin, new Uint8Array(600), ann);
      assert.equal(over.status, 507);
      assert.match(
        over.text,
        /Your account stores 600 bytes of its 1000 bytes; this file does not fit/,
      );
      assert.equal((await upload(origin, new Uint8Array(100), ann)).status, 201);
      assert.equal((await upload(origin, new Uint8Array(100), ann)).status, 201);
      const fourth = await upload(origin, new Uint8Array(1), ann);
      assert.equal(fourth.status, 429);
      assert.match(fourth.text, /made 3 uploads in the last hour/);
      const retryAfter = Number(fourth.headers.get("retry-after"));
      assert.ok(retryAfter > 3500 && retryAfter <= 3600, String(retryAfter));
      assert.equal(
        (await upload(origin, new Uint8Array(600), { authorization: basic("bob") })).status,
        201,
      );
      assert.deepEqual(server.files!.usage("ann"), { files: 3, bytes: 800, lastHour: 3 });
    },
  );
});

Deno.test("retention removes files older than --retention-days with their rows, and they are no longer served", async () => {
  await withUploads({ retentionDays: 2 }, async ({ server, origin }) => {
    await account(server, "ann");
    const { url } = JSON.parse(
      (await upload(origin, encoder.encode("old\n"), { authorization: basic("ann") })).text,
    );
    const id = new URL(url).pathname.split("/")[2];
    const files = server.files!;
    assert.equal(files.prune(Date.now() + DAY_MS), 0);
    assert.equal((await get(url)).status, 200);
    assert.equal(files.prune(Date.now() + 3 * DAY_MS), 1);
    assert.equal((await get(url)).status, 404);
    assert.throws(() => Deno.statSync(files.pathOf(id)), Deno.errors.NotFound);
    assert.equal(files.usage("ann").files, 0);
  });
});

Deno.test("a body that does not arrive within the body deadline is answered 408, and nothing of it stays on disk", async () => {
  await withUploads({ web: { http: { bodyTimeoutMs: 300 } } }, async ({ server, web }) => {
    await account(server, "ann");
    await using client = await RawClient.connect(web.port);
    await client.send(
      `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic("ann")}\r\n` +
        `Content-Length: 1000\r\n\r\nonly the start`,
    );
    assert.equal((await client.response(5000)).status, 408);
    assert.equal(await withTimeout(client.closed, 5000, "the close"), "eof");
    assert.deepEqual([...Deno.readDirSync(server.files!.directory)], []);
  });
});

/** The ISUPPORT tokens a client was sent on registering. */
function isupport(client: IrcTestClient): string[] {
  return client.lines.filter((line) => line.command === "005").flatMap((line) =>
    line.params.slice(1, -1)
  );
}

Deno.test("draft/FILEHOST is in 005 with the upload URL only when uploads are on", async () => {
  await withUploads({}, async ({ server, web }) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    const tokens = isupport(ann);
    const url = `http://127.0.0.1:${web.port}/upload`;
    assert.ok(tokens.includes(`draft/FILEHOST=${url}`), tokens.join(" "));
    assert.ok(tokens.includes(`soju.im/FILEHOST=${url}`), tokens.join(" "));
  });
  await withUploads({ uploads: false }, async ({ server, origin }) => {
    await using ann = await IrcTestClient.register(server.port, "ann");
    assert.ok(!isupport(ann).some((token) => token.includes("FILEHOST")));
    assert.equal((await upload(origin, encoder.encode("x"))).status, 405);
    assert.equal((await get(`${origin}/upload`)).status, 404);
  });
});

Deno.test("serve advertises --http-public-url's upload URL, says when it can tell none, and --no-uploads turns FILEHOST off", async () => {
  {
    await using serve = await startServe({
      http: true,
      args: ["--http-public-url", "https://chat.example.com/irc"],
    });
    await serve.child.waitForLine("uploads at https://chat.example.com/irc/upload");
    await using ann = await IrcTestClient.register(serve.port, "ann");
    assert.ok(isupport(ann).includes("draft/FILEHOST=https://chat.example.com/irc/upload"));
  }
  {
    await using serve = await startServe({ http: true, args: ["--http-host", "0.0.0.0"] });
    await serve.child.waitForLine(
      /^uploads at \/upload, told to no IRC client: .*--http-public-url$/,
    );
    await using ann = await IrcTestClient.register(serve.port, "ann");
    assert.ok(!isupport(ann).some((token) => token.includes("FILEHOST")));
  }
  {
    await using serve = await startServe({ http: true, args: ["--no-uploads"] });
    await using ann = await IrcTestClient.register(serve.port, "ann");
    assert.ok(!isupport(ann).some((token) => token.includes("FILEHOST")));
    assert.ok(!serve.child.lines.some((line) => line.startsWith("uploads at")));
  }
});

Deno.test("serve refuses a bad --http-public-url and upload flags with --no-uploads, in one line", async () => {
  await assert.rejects(serveCommand.run(["--http-public-url", "ftp://chat.example.com"]), {
    name: "UsageError",
    message:
      `--http-public-url: Public URL "ftp://chat.example.com" must be an http: or https: URL`,
  });
  await assert.rejects(serveCommand.run(["--http-public-url", "chat.example.com"]), {
    name: "UsageError",
    message: /^--http-public-url: Public URL "chat\.example\.com" is not a URL/,
  });
  await assert.rejects(serveCommand.run(["--no-uploads", "--upload-max-bytes", "5"]), {
    name: "UsageError",
    message: "--upload-max-bytes cannot be used with --no-uploads",
  });
  await assert.rejects(serveCommand.run(["--upload-max-bytes", "0"]), {
    name: "UsageError",
    message: /^--upload-max-bytes must be a whole number from 1 to/,
  });
});

Deno.test("serve killed with SIGKILL mid-upload serves no half file after a restart, and the partial file is swept once abandoned", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "shmooze-uploads-test-" });
  try {
    const size = 1024 * 1024;
    let partial: string | undefined;
    {
      await using serve = await startServe({ http: true, dataDir });
      {
        await using _ann = await registeredUser(serve.port, "ann");
      }
      const client = await RawClient.connect(serve.httpPort!);
      await client.send(
        `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic("ann")}\r\n` +
          `Content-Length: ${size}\r\n\r\n`,
      );
      await client.send(new Uint8Array(size / 2).fill(0x61));
      const files = join(dataDir, "files");
      await waitUntil(
        () => {
          for (const entry of Deno.readDirSync(files)) {
            if (
              entry.name.endsWith(".partial") &&
              Deno.statSync(join(files, entry.name)).size >= size / 2
            ) {
              partial = entry.name;
              return true;
            }
          }
          return false;
        },
        10_000,
        "half the upload on disk",
      );
      serve.child.process.kill("SIGKILL");
      await serve.child.done;
      await client.close();
    }
    const id = partial!.slice(0, -".partial".length);
    {
      await using serve = await startServe({ http: true, dataDir });
      const response = await fetch(`http://127.0.0.1:${serve.httpPort}/files/${id}`);
      await response.body?.cancel();
      assert.equal(response.status, 404);
    }
    const store = FileStore.open(dataDir);
    try {
      assert.equal(store.find(id), undefined);
      assert.deepEqual([...Deno.readDirSync(store.directory)].map((entry) => entry.name), [
        partial,
      ]);
      store.prune(Date.now() + 2 * 60 * 60 * 1000);
      assert.deepEqual([...Deno.readDirSync(store.directory)], []);
    } finally {
      store.close();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

/** A process's resident memory now and at its peak, from /proc (Linux), in bytes. */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)![1]);
  return { rss: kib("VmRSS") * 1024, peak: kib("VmHWM") * 1024 };
}

Deno.test({
  name: "16 clients uploading the largest file at once leave the server's memory where it was",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const MiB = 1024 * 1024;
    await using serve = await startServe({ http: true, args: ["--max-conn-per-ip", "64"] });
    {
      await using _ann = await registeredUser(serve.port, "ann");
    }
    const pid = serve.child.process.pid;
    const size = 10 * MiB;
    const clients = await Promise.all(
      Array.from({ length: 16 }, () => RawClient.connect(serve.httpPort!)),
    );
    try {
      // One upload first, so what the first request of a process costs is not counted.
      const warm = await upload(`http://127.0.0.1:${serve.httpPort}`, encoder.encode("x"), {
        authorization: basic("ann"),
      });
      assert.equal(warm.status, 201);
      const before = memoryOf(pid).rss;
      // Resets VmHWM to the current RSS, so the peak read after is this test's own.
      Deno.writeTextFileSync(`/proc/${pid}/clear_refs`, "5");
      const chunk = new Uint8Array(MiB).fill(0x61);
      const started = performance.now();
      await Promise.all(clients.map(async (client) => {
        await client.send(
          `POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${basic("ann")}\r\n` +
            `Content-Length: ${size}\r\n\r\n`,
        );
        for (let sent = 0; sent < size; sent += chunk.length) await client.send(chunk);
        assert.equal((await client.response(60_000)).status, 201, client.text.slice(0, 400));
      }));
      const seconds = (performance.now() - started) / 1000;
      const { rss: after, peak } = memoryOf(pid);
      console.log(
        `RSS before ${(before / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB, ` +
          `after ${(after / MiB).toFixed(0)} MiB; 16 × 10 MiB stored in ${seconds.toFixed(1)} s`,
      );
      // Bodies held whole would take 160 MiB. What grows is mostly the password checks: each
      // argon2id hash takes 19 MiB of WebAssembly memory while it runs.
      assert.ok(
        peak - before < 64 * MiB,
        `the peak grew by ${((peak - before) / MiB).toFixed(0)} MiB`,
      );
      const stored = [...Deno.readDirSync(join(serve.dataDir, "files"))];
      assert.equal(stored.length, 17);
      const sizes = stored.map((entry) =>
        Deno.statSync(join(serve.dataDir, "files", entry.name)).size
      );
      assert.deepEqual(sizes.sort((a, b) => a - b), [1, ...Array(16).fill(size)]);
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  },
});
