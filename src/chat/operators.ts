/**
 * Server operators as configured: the operator file (`serve --oper-file FILE`), one operator a
 * line as `name argon2id-hash` (the PHC string `shmooze oper-hash` prints), `#` comments and
 * blank lines ignored. The file holds password hashes, so it must belong to the user that runs
 * the server and be closed to everyone else, as the data directory is; a file that is not is
 * refused, not repaired, since someone else may already have changed it.
 *
 * {@link OperatorList} checks `OPER name password` against the list with the same argon2id
 * verification and the same throttle as account logins.
 *
 * @module
 */
import { setTimeout as delay } from "node:timers/promises";
import { isPasswordHash, verifyPassword } from "./accounts.ts";
import { foldCase } from "./casemap.ts";
import { LoginThrottle, type LoginThrottleOptions } from "./login_throttle.ts";
import { RateLimiter } from "./rate_limiter.ts";

/** One configured operator. */
export interface Operator {
  /** The name given to `OPER`, its case kept. */
  readonly name: string;
  /** The argon2id hash of its password, in the PHC string format. */
  readonly hash: string;
}

/**
 * An operator file cannot be used: it cannot be read, it is open to other users, or a line
 * is wrong (`line` says which).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OperatorFileError } from "./operators.ts";
 *
 * const error = new OperatorFileError("opers.conf", "Bad line", 3);
 * assert.equal(error.path, "opers.conf");
 * assert.equal(error.line, 3);
 * assert.equal(error.name, "OperatorFileError");
 * ```
 */
export class OperatorFileError extends Error {
  /** The file. */
  readonly path: string;
  /** The line at fault, counted from 1, when one is. */
  readonly line: number | undefined;

  /**
   * Makes the error.
   *
   * @param path The file.
   * @param message What is wrong, naming the file (and line).
   * @param line The line at fault.
   */
  constructor(path: string, message: string, line?: number) {
    super(message);
    this.name = "OperatorFileError";
    this.path = path;
    this.line = line;
  }
}

const NAME = /^[A-Za-z0-9_.\-\[\]{}|^`\\]{1,64}$/;

/**
 * Whether a name can be an operator's: 1 to 64 letters, digits and `_.-[]{}|^` backquote
 * backslash (a nick's characters, so an operator may use its nick).
 *
 * @param name The name.
 * @returns True when it can.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { isOperatorName } from "./operators.ts";
 *
 * assert.ok(isOperatorName("ann"));
 * assert.ok(!isOperatorName("ann smith"));
 * assert.ok(!isOperatorName(""));
 * ```
 */
export function isOperatorName(name: string): boolean {
  return NAME.test(name);
}
/** argon2id memory beyond this (1 GiB) is a mistake in the file, not a cost to pay per OPER. */
const MAX_MEMORY_KIB = 1 << 20;
const MAX_ITERATIONS = 64;

/**
 * Reads the operators from the text of an operator file.
 *
 * @param text The file's contents.
 * @param path The file's name, for error messages.
 * @returns The operators, in file order.
 * @throws {OperatorFileError} naming the first wrong line: not two fields, a bad name, a
 *   value that is not an argon2id hash (a password written in clear, say), a cost too high to
 *   check, or a name given twice.
 *
 * @example Comments and blank lines are skipped; a password in clear is refused
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseOperators } from "./operators.ts";
 *
 * const hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
 * const text = `# operators\n\nann ${hash}\n  bob   ${hash}  \n`;
 * assert.deepEqual(parseOperators(text, "opers.conf").map((o) => o.name), ["ann", "bob"]);
 * assert.throws(() => parseOperators("ann hunter2\n", "opers.conf"), {
 *   name: "OperatorFileError",
 *   message:
 *     'Cannot use operator file "opers.conf": line 1: the password of ann is not an argon2id hash; make one with `shmooze oper-hash`',
 * });
 * ```
 */
export function parseOperators(text: string, path: string): Operator[] {
  const operators: Operator[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (let index = 0; index < lines.length; index++) {
    const number = index + 1;
    const line = lines[index].trim();
    if (line === "" || line.startsWith("#")) continue;
    const fail = (why: string) => {
      throw new OperatorFileError(
        path,
        `Cannot use operator file "${path}": line ${number}: ${why}`,
        number,
      );
    };
    const fields = line.split(/\s+/);
    if (fields.length !== 2) {
      fail(`expected "name hash", found ${fields.length} field${fields.length === 1 ? "" : "s"}`);
    }
    const [name, hash] = fields;
    if (!isOperatorName(name)) {
      fail(`"${name}" is not an operator name (1 to 64 letters, digits and _.-[]{}|^\`\\)`);
    }
    if (!isPasswordHash(hash)) {
      fail(
        `the password of ${name} is not an argon2id hash; make one with \`shmooze oper-hash\``,
      );
    }
    const [memory, iterations] = /m=(\d+),t=(\d+)/.exec(hash)!.slice(1).map(Number);
    if (memory > MAX_MEMORY_KIB || iterations > MAX_ITERATIONS) {
      fail(
        `the hash of ${name} costs m=${memory} KiB, t=${iterations}: more than the ${MAX_MEMORY_KIB} KiB and ${MAX_ITERATIONS} passes an OPER may cost`,
      );
    }
    const key = foldCase(name);
    const first = seen.get(key);
    if (first !== undefined) fail(`operator ${name} is already defined on line ${first}`);
    seen.set(key, number);
    operators.push({ name, hash });
  }
  return operators;
}

/**
 * Reads an operator file, after checking that nobody else could have read or changed it.
 *
 * @param path The file.
 * @returns The operators, in file order.
 * @throws {OperatorFileError} when it cannot be read, belongs to another user, is open to
 *   group or others (the hashes could be taken and guessed at offline), or has a wrong line.
 *
 * @example A file open to others is refused; closed, it is read
 * ```ts
 * import assert from "node:assert/strict";
 * import { join } from "node:path";
 * import { readOperatorFile } from "./operators.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const path = join(dir, "opers.conf");
 * const hash = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
 * Deno.writeTextFileSync(path, `ann ${hash}\n`, { mode: 0o600 });
 * assert.equal(readOperatorFile(path)[0].name, "ann");
 * if (Deno.build.os !== "windows") {
 *   Deno.chmodSync(path, 0o644);
 *   assert.throws(() => readOperatorFile(path), /it is open to other users \(mode 0644\); chmod 600 it/);
 * }
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export function readOperatorFile(path: string): Operator[] {
  let text: string;
  try {
    checkPrivate(path);
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof OperatorFileError) throw error;
    throw new OperatorFileError(
      path,
      `Cannot read operator file "${path}": ${(error as Error).message}`,
    );
  }
  return parseOperators(text, path);
}

/** Refuses a file of another user's, or one that group or others may read or write. */
function checkPrivate(path: string): void {
  const info = Deno.statSync(path);
  if (!info.isFile) {
    throw new OperatorFileError(path, `Cannot use operator file "${path}": it is not a file`);
  }
  // Windows has no such modes: there the user's own profile directory protects the file.
  if (Deno.build.os === "windows") return;
  const mode = info.mode! & 0o777;
  const uid = Deno.uid()!;
  if (info.uid !== uid) {
    throw new OperatorFileError(
      path,
      `Cannot use operator file "${path}": it belongs to uid ${info.uid}, not to this user (uid ${uid}), who could change who is an operator; chown it to uid ${uid}`,
    );
  }
  if ((mode & 0o077) !== 0) {
    throw new OperatorFileError(
      path,
      `Cannot use operator file "${path}": it is open to other users (mode 0${
        mode.toString(8).padStart(3, "0")
      }); chmod 600 it`,
    );
  }
}

/** Options for {@link OperatorList}. */
export interface OperatorListOptions {
  /** How failed OPER attempts slow further ones (see {@link LoginThrottleOptions}). */
  throttle?: LoginThrottleOptions;
  /**
   * The server-wide budget of password checks (key `*`), shared with account logins: each
   * takes the event loop for tens of ms. Over it, OPER attempts from addresses that have not
   * opered as that operator before are refused as `busy` unchecked.
   * @default {a budget of its own, 5 a second}
   */
  hashBudget?: RateLimiter;
}

/** The outcome of {@link OperatorList.check}. */
export type OperCheck =
  | { ok: true; operator: Operator }
  | { ok: false; reason: "invalid" | "throttled" | "busy"; retryAfterMs: number };

/**
 * The configured operators, and the check of an `OPER`: failures are throttled per name and
 * address as account logins are (see `login_throttle.ts`), and a server-wide budget bounds
 * the hashing work.
 *
 * @example Check a right and a wrong password
 * ```ts
 * import assert from "node:assert/strict";
 * import { hashPassword } from "./accounts.ts";
 * import { OperatorList } from "./operators.ts";
 *
 * const hash = await hashPassword("a long password", { memoryKiB: 64, iterations: 1 });
 * const operators = new OperatorList([{ name: "Ann", hash }]);
 * const right = await operators.check("ann", "a long password", "127.0.0.1");
 * assert.equal(right.ok && right.operator.name, "Ann");
 * const wrong = await operators.check("ann", "not it", "127.0.0.1");
 * assert.deepEqual(wrong, { ok: false, reason: "invalid", retryAfterMs: 0 });
 * operators.close();
 * ```
 */
export class OperatorList {
  #byName = new Map<string, Operator>();
  #throttle: LoginThrottle;
  #hashes: RateLimiter;
  /** Aborted by {@link close}, so no check is left waiting on a timer. */
  #closing = new AbortController();

  /**
   * Makes the list.
   *
   * @param operators The operators (see {@link readOperatorFile}).
   * @param options The throttle and the hash budget.
   */
  constructor(operators: readonly Operator[] = [], options: OperatorListOptions = {}) {
    this.replace(operators);
    this.#throttle = new LoginThrottle(options.throttle);
    this.#hashes = options.hashBudget ?? new RateLimiter({ limit: 5, windowMs: 1000 });
  }

  /** How many operators are configured. */
  get size(): number {
    return this.#byName.size;
  }

  /** The operators' names, as configured. */
  get names(): string[] {
    return [...this.#byName.values()].map((operator) => operator.name);
  }

  /**
   * Whether an operator of that name is configured.
   *
   * @param name The name, any case.
   * @returns True when it is.
   */
  has(name: string): boolean {
    return this.#byName.has(foldCase(name));
  }

  /**
   * Replaces the operators (REHASH); the throttle keeps what it has counted.
   *
   * @param operators The new list.
   */
  replace(operators: readonly Operator[]): void {
    this.#byName = new Map(operators.map((operator) => [foldCase(operator.name), operator]));
  }

  /**
   * Checks an `OPER name password`, after the wait the throttle asks for.
   *
   * @param name The operator name, any case.
   * @param password The password.
   * @param address The client's address key (`addressKey()` in src/net).
   * @returns The operator, or why not and how long to wait before trying again. An unknown
   *   name and a wrong password are both `invalid`, after the same work.
   */
  async check(name: string, password: string, address: string): Promise<OperCheck> {
    const key = foldCase(name);
    const turn = this.#throttle.take(key, address);
    if (!turn.granted) return { ok: false, reason: "throttled", retryAfterMs: turn.retryAfterMs };
    if (turn.waitMs > 0) {
      try {
        await delay(turn.waitMs, undefined, { signal: this.#closing.signal });
      } catch {
        return { ok: false, reason: "busy", retryAfterMs: 0 };
      }
    }
    if (!this.#hashes.take("*") && !turn.known) {
      turn.cancel();
      return { ok: false, reason: "busy", retryAfterMs: this.#hashes.retryAfter("*") };
    }
    const operator = this.#byName.get(key);
    // An unknown name is checked against another operator's hash (and fails whatever the
    // password), so it costs what a wrong password does: the reply is the same too.
    const hash = operator?.hash ?? this.#byName.values().next().value?.hash;
    const matches = hash !== undefined && await verifyPassword(password, hash);
    // The list may have been replaced while the hash was computed: the name must still be there.
    if (operator !== undefined && matches && this.#byName.get(key) === operator) {
      turn.succeeded();
      return { ok: true, operator };
    }
    return { ok: false, reason: "invalid", retryAfterMs: 0 };
  }

  /** Stops waiting checks (they fail as `busy`). */
  close(): void {
    this.#closing.abort();
  }
}
