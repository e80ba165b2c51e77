/**
 * `shmooze oper-hash`: the argon2id hash of a server operator's password, for the file
 * `serve --oper-file` reads. The password is typed on the terminal without echo (twice) or
 * read from standard input, never from the command line, which every user of the machine can
 * read.
 *
 * @module
 */
import { hashPassword, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from "../chat/accounts.ts";
import { isOperatorName } from "../chat/operators.ts";
import { CliError, parseCommandArgs, UsageError } from "./_args.ts";
import { promptHidden } from "./_password.ts";
import type { Command } from "./command.ts";

const help = `Usage: shmooze oper-hash [--name NAME]

Prints the argon2id hash of a server operator's password (the PHC string, as accounts are
hashed: m=19 MiB, t=2, p=1), for the file \`shmooze serve --oper-file FILE\` reads. On a
terminal the password is asked for twice, without echo; otherwise it is the first line of
standard input. It is never taken from the command line.

Options:
  --name NAME   Print a whole line of the operator file, "NAME HASH"

The password must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH} characters long.

Exit codes: 0 the hash was printed; 1 no password, the two differ, or its length is wrong;
2 a mistake on the command line.

Examples:
  shmooze oper-hash --name ann
  (umask 077; shmooze oper-hash --name ann >> opers.conf)
  printf '%s\\n' "$OPER_PASSWORD" | shmooze oper-hash --name ann`;

/** The password: typed twice on a terminal, or the first line of standard input. */
async function readPassword(): Promise<string> {
  if (Deno.stdin.isTerminal()) {
    const first = await promptHidden("operator password: ");
    const again = await promptHidden("again: ");
    if (first !== again) throw new CliError("The two passwords differ; nothing was hashed");
    return first;
  }
  const text = await new Response(Deno.stdin.readable).text();
  return text.split(/\r?\n/)[0];
}

/**
 * `shmooze oper-hash`: prints a password's hash for the operator file.
 *
 * @example A name with a space is refused before any password is read
 * ```ts
 * import assert from "node:assert/strict";
 * import { operHashCommand } from "./oper_hash.ts";
 *
 * assert.match(operHashCommand.help, /^Usage: shmooze oper-hash/);
 * await assert.rejects(operHashCommand.run(["--name", "ann smith"]), {
 *   name: "UsageError",
 *   message:
 *     '--name "ann smith" is not an operator name: 1 to 64 letters, digits and _.-[]{}|^`\\ only',
 * });
 * ```
 */
export const operHashCommand: Command = {
  name: "oper-hash",
  summary: "Hash a server operator's password for serve --oper-file",
  help,
  async run(args) {
    const { values } = parseCommandArgs("oper-hash", args, { name: { type: "string" } });
    const name = values.name === undefined ? undefined : String(values.name);
    if (name !== undefined && !isOperatorName(name)) {
      throw new UsageError(
        `--name "${name}" is not an operator name: 1 to 64 letters, digits and _.-[]{}|^\`\\ only`,
      );
    }
    const password = await readPassword();
    if (password.length < MIN_PASSWORD_LENGTH || password.length > MAX_PASSWORD_LENGTH) {
      throw new CliError(
        `The password is ${password.length} characters long; it must be ${MIN_PASSWORD_LENGTH} to ${MAX_PASSWORD_LENGTH}`,
      );
    }
    const hash = await hashPassword(password);
    console.log(name === undefined ? hash : `${name} ${hash}`);
    return 0;
  },
};
