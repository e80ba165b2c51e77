import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";
import { IrcTestClient, startServe, withServer } from "./_irc.ts";
import { makeTestCertificate } from "./_tls.ts";

Deno.test("serve --tls-cert: a TLS client and a plain TCP client chat in #lobby", async () => {
  await using cert = await makeTestCertificate();
  await using serve = await startServe({
    args: ["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--tls-port", "0", "--no-http"],
  });
  const line = await serve.child.waitForLine(/^listening with TLS on /);
  const tlsPort = Number(line.slice(line.lastIndexOf(":") + 1));
  assert.notEqual(tlsPort, serve.port);
  await using ann = await IrcTestClient.connectTls(tlsPort, cert.cert);
  await ann.register("ann");
  await using bob = await IrcTestClient.register(serve.port, "bob");
  await ann.join("#lobby");
  await bob.join("#lobby");
  await ann.send("PRIVMSG #lobby :sealed in transit");
  await bob.waitFor((m) => m.command === "PRIVMSG" && m.params[1] === "sealed in transit");
  await bob.send("PRIVMSG #lobby :and back");
  const back = await ann.waitFor("PRIVMSG");
  assert.equal(back.source?.split("!")[0], "bob");
  assert.equal(back.params[1], "and back");
});

Deno.test("A plaintext connection to the TLS port is closed and TLS clients still get in", async () => {
  await using cert = await makeTestCertificate();
  await withServer({ tls: { cert: cert.cert, key: cert.key, port: 0 } }, async (server) => {
    const plain = await Deno.connect({ hostname: "127.0.0.1", port: server.tlsPort! });
    await plain.write(new TextEncoder().encode("NICK mallory\r\nUSER m 0 * :m\r\n"));
    const received: number[] = [];
    const buffer = new Uint8Array(4096);
    const deadline = setTimeout(() => plain.close(), 10_000);
    try {
      while (true) {
        const count = await plain.read(buffer);
        if (count === null) break;
        received.push(...buffer.subarray(0, count));
      }
    } catch {
      // A reset is a clean refusal too.
    } finally {
      clearTimeout(deadline);
      try {
        plain.close();
      } catch { /* closed by the deadline */ }
    }
    // Whatever came back (a TLS alert at most) is no IRC reply.
    assert.ok(!new TextDecoder().decode(new Uint8Array(received)).includes(" 001 "));
    assert.equal(server.hub.find("mallory"), undefined);
    await using ann = await IrcTestClient.connectTls(server.tlsPort!, cert.cert);
    await ann.register("ann");
    assert.equal(server.hub.find("ann")?.transport, "tls");
  });
});

Deno.test("shmooze client --ca FILE chats over TLS", async () => {
  await using cert = await makeTestCertificate();
  await withServer({ tls: { cert: cert.cert, key: cert.key, port: 0 } }, async (server) => {
    await using ann = await IrcTestClient.connectTls(server.tlsPort!, cert.cert);
    await ann.register("ann");
    await ann.join("#lobby");
    await using bob = spawn([
      "main.ts",
      "client",
      "--ca",
      cert.certFile,
      "--port",
      String(server.tlsPort),
      "--nick",
      "bob",
    ]);
    await bob.waitForLine("joined #lobby");
    await bob.writeLine("hello over tls");
    const message = await ann.waitFor("PRIVMSG");
    assert.equal(message.params[1], "hello over tls");
    await bob.closeStdin();
    assert.equal((await bob.done).code, 0);
  });
});

Deno.test("shmooze client --tls refuses a certificate it cannot verify and points to --ca", async () => {
  await using cert = await makeTestCertificate();
  await withServer({ tls: { cert: cert.cert, key: cert.key, port: 0 } }, async (server) => {
    await using bob = spawn(["main.ts", "client", "--tls", "--port", String(server.tlsPort)]);
    const { code, stderr } = await bob.done;
    assert.equal(code, 1);
    assert.match(stderr, /TLS certificate is not trusted \(.*UnknownIssuer.*\).*--ca FILE/);
    assert.equal(server.hub.members.size, 0);
  });
});

Deno.test("shmooze client --tls to a plain-text port says the port does not speak TLS", async () => {
  await withServer({}, async (server) => {
    await using bob = spawn(["main.ts", "client", "--tls", "--port", String(server.port)]);
    const { code, stderr } = await bob.done;
    assert.equal(code, 1);
    assert.equal(stderr.trim().split("\n").length, 1, stderr);
    assert.match(stderr, /did not answer in TLS .*plain-text port; connect to its TLS port/);
  });
});

Deno.test("shmooze client --insecure connects when the runtime skips certificate checks", async () => {
  await using cert = await makeTestCertificate();
  await withServer({ tls: { cert: cert.cert, key: cert.key, port: 0 } }, async (server) => {
    await using bob = spawn([
      "--unsafely-ignore-certificate-errors=127.0.0.1",
      "main.ts",
      "client",
      "--insecure",
      "--port",
      String(server.tlsPort),
      "--nick",
      "bob",
    ]);
    await bob.waitForLine("joined #lobby");
    assert.equal(server.hub.find("bob")?.transport, "tls");
    await bob.closeStdin();
    const { code, stderr } = await bob.done;
    assert.equal(code, 0);
    assert.match(stderr, /warning: --insecure/);
  });
});

Deno.test("serve refuses --tls-cert without --tls-key, and an unreadable certificate", async () => {
  await using cert = await makeTestCertificate();
  const half = spawn(["main.ts", "serve", "--port", "0", "--tls-cert", cert.certFile]);
  const halfResult = await half.done;
  assert.equal(halfResult.code, 2);
  assert.match(halfResult.stderr, /--tls-cert and --tls-key must be given together/);
  const missing = spawn([
    "main.ts",
    "serve",
    "--port",
    "0",
    "--no-status",
    "--no-http",
    "--data",
    cert.dir,
    "--tls-cert",
    `${cert.dir}/missing.pem`,
    "--tls-key",
    cert.keyFile,
  ]);
  const missingResult = await missing.done;
  assert.equal(missingResult.code, 1);
  assert.match(missingResult.stderr, /Cannot read --tls-cert ".*missing\.pem"/);
});

Deno.test("serve --tls-cert also serves the web side over HTTPS and IRC over WSS", async () => {
  await using cert = await makeTestCertificate();
  await using serve = await startServe({
    dataDir: `${cert.dir}/data`,
    http: true,
    args: ["--tls-cert", cert.certFile, "--tls-key", cert.keyFile, "--tls-port", "0"],
  });
  const { port, httpPort: httpsPort } = serve;
  using httpClient = Deno.createHttpClient({ caCerts: [cert.cert] });
  const health = await fetch(`https://localhost:${httpsPort}/healthz`, { client: httpClient });
  assert.equal((await health.text()).trim(), "ok");
  await assert.rejects(fetch(`http://localhost:${httpsPort}/healthz`));

  await using ann = await IrcTestClient.register(port, "ann");
  await ann.join("#lobby");
  await using browser = spawn(
    ["tests/fixtures/wss_client.ts", `wss://localhost:${httpsPort}/irc`, "bob"],
    { env: { DENO_CERT: cert.certFile } },
  );
  const message = await ann.waitFor("PRIVMSG");
  assert.equal(message.params[1], "hello over wss");
  assert.equal((await browser.done).code, 0);
});
