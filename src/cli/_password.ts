/**
 * Where `shmooze client` gets the account and password it logs in with: `--account`, then
 * `--password-file`, the SHMOOZE_PASSWORD environment variable, or a prompt on the terminal
 * that does not echo. Never the command line, which every user of the machine can read.
 *
 * @module
 */
import process from "node:process";
import * as readline from "node:readline";
import { Writable } from "node:stream";
import type { LoginOptions } from "../client/irc_client.ts";
import { CliError, UsageError, type Values } from "./_args.ts";

/**
 * The environment variable that holds the password.
 *
 * @example The name to set, as `shmooze client --help` shows it
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientCommand } from "./client.ts";
 * import { PASSWORD_ENV } from "./_password.ts";
 *
 * assert.equal(PASSWORD_ENV, "SHMOOZE_PASSWORD");
 * assert.ok(clientCommand.help.includes(`the environment variable ${PASSWORD_ENV}`));
 * ```
 */
export const PASSWORD_ENV = "SHMOOZE_PASSWORD";

/**
 * The login the command line asks for: none unless `--account`, `--password-file` or
 * SHMOOZE_PASSWORD is given; the account defaults to the nick.
 *
 * @param values Parsed `client` options.
 * @param nick The nick, the account's default name.
 * @returns The account and its password, or undefined for no login.
 * @throws {UsageError} For a bad account name, an empty password, or no way to get one.
 * @throws {CliError} When the password file cannot be read or the prompt is abandoned.
 *
 * @example Log in with the password from a file; the account defaults to the nick
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { readLogin } from "./_password.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const file = join(dir, "password");
 * Deno.writeTextFileSync(file, "correct horse battery\n", { mode: 0o600 });
 * const login = await readLogin({ "password-file": file }, "ann");
 * assert.deepEqual(login, { account: "ann", password: "correct horse battery" });
 * Deno.writeTextFileSync(file, "\n");
 * await assert.rejects(readLogin({ "password-file": file }, "ann"), {
 *   name: "UsageError",
 *   message: `The password for ann is empty (from --password-file "${file}")`,
 * });
 * await assert.rejects(readLogin({ account: "ann smith" }, "ann"), /is not an account name/);
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export async function readLogin(values: Values, nick: string): Promise<LoginOptions | undefined> {
  const file = values["password-file"];
  const fromEnv = Deno.env.get(PASSWORD_ENV);
  if (values.account === undefined && file === undefined && fromEnv === undefined) {
    return undefined;
  }
  const account = values.account === undefined ? nick : String(values.account);
  if (account === "" || /[\s\0]/.test(account)) {
    throw new UsageError(
      `--account "${account}" is not an account name: it is empty or has spaces`,
    );
  }
  let password: string;
  if (file !== undefined) {
    password = readPasswordFile(String(file));
  } else if (fromEnv !== undefined) {
    password = fromEnv;
  } else if (Deno.stdin.isTerminal()) {
    password = await promptHidden(`password for ${account}: `);
  } else {
    throw new UsageError(
      `--account ${account} needs a password: set ${PASSWORD_ENV}, pass --password-file FILE, or run on a terminal to be asked`,
    );
  }
  if (password === "") {
    const source = file !== undefined ? `--password-file "${file}"` : PASSWORD_ENV;
    throw new UsageError(`The password for ${account} is empty (from ${source})`);
  }
  return { account, password };
}

/** The password on the file's only line (one trailing line break is not part of it). */
function readPasswordFile(path: string): string {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new CliError(`Cannot read --password-file "${path}": ${(error as Error).message}`);
  }
  const password = text.replace(/\r?\n$/, "");
  if (/[\r\n]/.test(password)) {
    throw new UsageError(`--password-file "${path}" must hold the password alone on one line`);
  }
  return password;
}

/**
 * Asks for a secret on the terminal without showing it. readline in terminal mode switches
 * the terminal to raw mode, so the keys are not echoed by the terminal; readline's own echo
 * goes to an output that drops it. The question goes to standard error.
 *
 * @param question What to ask.
 * @param input Where the answer comes from. @default {process.stdin}
 * @returns The line typed.
 * @throws {CliError} When the input ends (or Ctrl-C) before a line.
 *
 * @example The first line of the input is the answer
 * ```ts
 * import assert from "node:assert/strict";
 * import { Readable } from "node:stream";
 * import { promptHidden } from "./_password.ts";
 *
 * const typed = Readable.from(["correct horse\n"]);
 * assert.equal(await promptHidden("password: ", typed), "correct horse");
 * await assert.rejects(promptHidden("password: ", Readable.from([])), {
 *   name: "CliError",
 *   message: "No password entered",
 * });
 * ```
 */
export async function promptHidden(
  question: string,
  input: NodeJS.ReadableStream = process.stdin,
): Promise<string> {
  const muted = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = readline.createInterface({ input, output: muted, terminal: true });
  process.stderr.write(question);
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once("line", resolve);
      rl.once("close", () => reject(new CliError("No password entered")));
      rl.on("SIGINT", () => rl.close());
    });
  } finally {
    rl.close();
    process.stderr.write("\n");
  }
}
