import assert from "node:assert/strict";
import { type Peer, peerAvailable, startInspircd, startNgircd } from "./_peers.ts";

/**
 * Registers `nick` and joins #lobby; returns every line received up to the JOIN echo and the
 * still open connection.
 */
async function joinLobby(
  peer: Peer,
  nick: string,
): Promise<{ lines: string[]; conn: Deno.TcpConn }> {
  const conn = await Deno.connect({ hostname: peer.host, port: peer.port });
  const timer = setTimeout(() => conn.close(), 10_000);
  try {
    const encoder = new TextEncoder();
    await conn.write(encoder.encode(`NICK ${nick}\r\nUSER ${nick} 0 * :${nick}\r\n`));
    const decoder = new TextDecoder();
    const buffer = new Uint8Array(8192);
    let text = "";
    let joinSent = false;
    while (true) {
      const n = await conn.read(buffer);
      assert.ok(n !== null, `${peer.name} closed the connection; received:\n${text}`);
      text += decoder.decode(buffer.subarray(0, n));
      if (!joinSent && /^:\S+ 001 /m.test(text)) {
        joinSent = true;
        await conn.write(encoder.encode("JOIN #lobby\r\n"));
      }
      if (new RegExp(`^:${nick}!\\S+ JOIN :?#lobby`, "m").test(text)) {
        clearTimeout(timer);
        return { lines: text.split("\r\n"), conn };
      }
    }
  } catch (error) {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* closed by the timer */ }
    throw error;
  }
}

/** True while something accepts connections on the port. */
async function listening(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** Whether the process still exists (signal 0 is not available in Deno, so ask /proc). */
function alive(pid: number): boolean {
  try {
    return !Deno.readTextFileSync(`/proc/${pid}/stat`).split(" ")[2].startsWith("Z");
  } catch {
    return false;
  }
}

for (
  const [name, start] of [["ngircd", startNgircd], ["inspircd", startInspircd]] as const
) {
  for (const floodLimitsOff of [false, true]) {
    Deno.test({
      name: `${name} peer (floodLimitsOff ${floodLimitsOff}) registers a nick, joins #lobby ` +
        "and stops cleanly",
      ignore: !peerAvailable(name),
      async fn() {
        const peer = await start({ floodLimitsOff });
        let config = "";
        try {
          assert.equal(peer.name, name);
          assert.equal(peer.host, "127.0.0.1");
          const { lines, conn } = await joinLobby(peer, "tester");
          conn.close();
          assert.ok(lines.some((line) => / 001 tester /.test(line)), lines.join("\n"));
          config = Deno.readTextFileSync(`/proc/${peer.pid}/cmdline`).split("\0").at(-2)!;
          assert.ok(Deno.statSync(config).isFile, "the configuration exists while running");
        } finally {
          await peer.stop();
        }
        assert.equal(alive(peer.pid), false, `${name} still runs after stop()`);
        assert.equal(await listening(peer.port), false, `${name} still listens after stop()`);
        assert.throws(() => Deno.statSync(config), Deno.errors.NotFound);
      },
    });
  }
}

Deno.test({
  name: "ngircd and inspircd peers with floodLimitsOff keep 100 clients from one address in #lobby",
  ignore: !peerAvailable("ngircd") || !peerAvailable("inspircd"),
  async fn() {
    for (const start of [startNgircd, startInspircd]) {
      const peer = await start({ floodLimitsOff: true });
      const conns: Deno.TcpConn[] = [];
      try {
        // A window of 25 registrations at a time: ngircd listens with a backlog of 10 and a
        // dropped SYN takes a second or more to retry, while InspIRCd completes registrations
        // only once a second.
        let next = 0;
        await Promise.all(Array.from({ length: 25 }, async () => {
          while (next < 100) conns.push((await joinLobby(peer, `user${next++}`)).conn);
        }));
        assert.equal(conns.length, 100);
      } finally {
        for (const conn of conns) conn.close();
        await peer.stop();
      }
    }
  },
});
