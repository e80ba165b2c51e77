import assert from "node:assert/strict";
import { spawn } from "../_helpers.ts";

const IRCTEST = Deno.env.get("IRCTEST_DIR") ?? "/work/.mirror/progval+irctest/repo";

/** irctest's snapshot and a Python with pytest: this machine has both, a fresh one may not. */
function irctestAvailable(): boolean {
  try {
    Deno.statSync(IRCTEST);
    const python = Deno.env.get("PYTHON") ?? "python3";
    return new Deno.Command(python, { args: ["-c", "import pytest"], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
}

Deno.test("conformance refuses an unknown server with one line and exit code 2", async () => {
  await using child = spawn(["scripts/conformance.ts", "ergo"]);
  const { code, stderr } = await child.done;
  assert.equal(code, 2);
  assert.equal(stderr.trim(), 'Unknown server "ergo"; choose shmooze, ngircd, inspircd or all');
});

Deno.test({
  name: "conformance passes irctest's PING tests and its SASL PLAIN test with a 6-character " +
    "password through the shmooze controller",
  ignore: !irctestAvailable(),
  async fn() {
    const out = Deno.makeTempDirSync({ prefix: "shmooze-conformance-test-" });
    try {
      await using child = spawn(
        [
          "scripts/conformance.ts",
          "shmooze",
          "--keyword",
          "testPing or testPlainNoAuthzid",
          "--out",
          out,
        ],
        { timeoutMs: 180_000 },
      );
      const { code, stdout, stderr } = await child.done;
      assert.equal(code, 0, `${stdout}\n${stderr}`);
      const tally = (run: string) =>
        /^- pytest: (.*)$/m.exec(Deno.readTextFileSync(`${out}/${run}.md`))?.[1] ?? "";
      // "sesame" is below shmooze's 8-character minimum: the account comes from the fixture
      assert.match(tally("shmooze-services"), /^1 passed, \d+ deselected in /);
      assert.match(tally("shmooze"), /^3 passed, \d+ deselected in /);
    } finally {
      Deno.removeSync(out, { recursive: true });
    }
  },
});
