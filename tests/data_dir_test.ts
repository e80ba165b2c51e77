/**
 * `serve` keeps history and accounts private: it refuses a data directory or database that
 * belongs to another user, and takes group and other access away from its own.
 */
import assert from "node:assert/strict";
import { spawn } from "./_helpers.ts";
import { startServe } from "./_irc.ts";

const NOBODY = 65534;
const asRoot = Deno.uid() === 0;

/** Runs `serve` on the data directory until it exits (it should not start). */
async function serveFails(dataDir: string) {
  await using child = spawn([
    "main.ts",
    "serve",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-http",
    "--no-status",
    "--data",
    dataDir,
  ]);
  await child.closeStdin();
  return await child.done;
}

function mode(path: string): number {
  return Deno.statSync(path).mode! & 0o777;
}

for (
  const [what, owned] of [
    ["the data directory", ""],
    ["the history database", "history.sqlite"],
    ["the accounts database's WAL file", "accounts.sqlite-wal"],
  ]
) {
  Deno.test({
    name: `serve refuses ${what} when another user owns it, in one line, exit 1`,
    ignore: !asRoot || Deno.build.os === "windows",
    async fn() {
      const dataDir = await Deno.makeTempDir({ prefix: "shmooze-data-test-" });
      try {
        const path = owned === "" ? dataDir : `${dataDir}/${owned}`;
        if (owned !== "") await Deno.writeFile(path, new Uint8Array(), { mode: 0o600 });
        await Deno.chown(path, NOBODY, NOBODY);
        const { code, stdout, stderr } = await serveFails(dataDir);
        assert.equal(code, 1, stderr);
        assert.equal(stdout, "");
        assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
        assert.match(
          stderr,
          new RegExp(
            `^error: Cannot use .*"${path}": it belongs to uid ${NOBODY} \\(mode 0[67]00\\).*--data`,
          ),
        );
        assert.equal((await Deno.stat(path)).uid, NOBODY, "the other user's file was taken over");
      } finally {
        await Deno.remove(dataDir, { recursive: true });
      }
    },
  });
}

Deno.test({
  name: "serve makes its own 0755 data directory and 0644 databases private and says so",
  ignore: Deno.build.os === "windows",
  async fn() {
    const dataDir = await Deno.makeTempDir({ prefix: "shmooze-data-test-" });
    try {
      await Deno.chmod(dataDir, 0o755);
      const files = ["history.sqlite", "history.sqlite-wal", "accounts.sqlite"];
      for (const file of files) {
        // An empty database and an empty WAL are valid: SQLite starts them afresh.
        await Deno.writeFile(`${dataDir}/${file}`, new Uint8Array());
        await Deno.chmod(`${dataDir}/${file}`, 0o644);
      }
      {
        await using serve = await startServe({ dataDir });
        assert.ok(serve.port > 0);
        assert.equal(mode(dataDir), 0o700);
        for (const file of files) assert.equal(mode(`${dataDir}/${file}`), 0o600, file);
        serve.child.process.kill("SIGTERM");
        const { code, stderr } = await serve.child.done;
        assert.equal(code, 0);
        assert.match(
          stderr,
          new RegExp(
            `WARNING .*Tightened the history data directory "${dataDir}": it was open to other users \\(mode 0755\\), now 0700`,
          ),
        );
        assert.match(
          stderr,
          /Tightened the accounts database ".*accounts\.sqlite": .*mode 0644\), now 0600/,
        );
      }
    } finally {
      await Deno.remove(dataDir, { recursive: true });
    }
  },
});
