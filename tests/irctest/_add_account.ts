/**
 * Test fixture for the irctest controller (shmooze.py): adds an account to a running server's
 * `accounts.sqlite` without the REGISTER policy (irctest's accounts use 6-character
 * passwords; shmooze asks for 8). The password comes on standard input, never the command
 * line.
 *
 * Usage: deno run -A tests/irctest/_add_account.ts DATA_DIR NAME < password
 *
 * @module
 */
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { argon2id } from "hash-wasm";
import { foldCase } from "../../src/chat/casemap.ts";

const [dataDir, name] = Deno.args;
if (dataDir === undefined || name === undefined) {
  console.error("Usage: _add_account.ts DATA_DIR NAME < password");
  Deno.exit(2);
}
const password = (await new Response(Deno.stdin.readable).text()).replace(/\r?\n$/, "");
// The PHC string shmooze verifies; a cheap cost, as Ergo's irctest setup uses bcrypt cost 4.
const hash = await argon2id({
  password,
  salt: crypto.getRandomValues(new Uint8Array(16)),
  parallelism: 1,
  iterations: 1,
  memorySize: 64,
  hashLength: 32,
  outputType: "encoded",
});
const path = join(dataDir, "accounts.sqlite");
let changes;
try {
  // The server created the file and its schema; an account store that is not there is an error.
  Deno.statSync(path);
  const db = new DatabaseSync(path, { timeout: 5000 });
  try {
    ({ changes } = db.prepare(
      "INSERT OR IGNORE INTO accounts (key, name, hash, created_at) VALUES (?, ?, ?, ?)",
    ).run(foldCase(name), name, hash, Date.now()));
  } finally {
    db.close();
  }
} catch (error) {
  console.error(`Cannot add account "${name}" to "${path}": ${(error as Error).message}`);
  Deno.exit(1);
}
if (changes === 0) {
  console.error(`Cannot add account "${name}": it is already registered`);
  Deno.exit(1);
}
