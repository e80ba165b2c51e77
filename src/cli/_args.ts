/**
 * What every subcommand shares for its command line: strict parsing with node:util's
 * parseArgs, option readers whose messages name the option, and the two expected errors
 * (a usage mistake, exit code 2; a failure at run time, exit code 1) that `shmooze` reports
 * in one line without a stack trace.
 *
 * @example Parse a subcommand's arguments and read a number from them
 * ```ts
 * import assert from "node:assert/strict";
 * import { intOption, parseCommandArgs } from "./_args.ts";
 *
 * const { values } = parseCommandArgs("serve", ["--port", "6667"], { port: { type: "string" } });
 * assert.equal(intOption(values, "port", 54000, { max: 65535 }), 6667);
 * ```
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/**
 * A mistake in how the command was called: reported without a stack trace, exit code 2.
 *
 * @example A bad option value is a usage mistake
 * ```ts
 * import assert from "node:assert/strict";
 * import { intOption, UsageError } from "./_args.ts";
 *
 * assert.throws(() => intOption({ port: "http" }, "port", 54000), UsageError);
 * ```
 */
export class UsageError extends Error {
  /**
   * Makes the error for one mistake on the command line.
   *
   * @param message What is wrong and, where it helps, what to write instead.
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * An expected failure at run time (a port in use, a room full …): exit code 1, no trace.
 *
 * @example Exit code 1 unless another is given
 * ```ts
 * import assert from "node:assert/strict";
 * import { CliError } from "./_args.ts";
 *
 * assert.equal(new CliError("Cannot read --ca \"ca.pem\": not found").exitCode, 1);
 * assert.equal(new CliError("Interrupted", 130).exitCode, 130);
 * ```
 */
export class CliError extends Error {
  /** The process exit code. */
  readonly exitCode: number;
  /**
   * Makes the error for one failure at run time.
   *
   * @param message What failed and why.
   * @param exitCode The process exit code. @default {1}
   */
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** Parsed option values, as node:util's parseArgs gives them. */
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/**
 * Options every subcommand accepts.
 *
 * @example Every subcommand takes --help and the log options
 * ```ts
 * import assert from "node:assert/strict";
 * import { commonOptions, parseCommandArgs } from "./_args.ts";
 *
 * assert.deepEqual(Object.keys(commonOptions), ["help", "log-level", "log-format"]);
 * const { values } = parseCommandArgs("status", ["-h", "--log-level", "debug"], {});
 * assert.deepEqual({ ...values }, { help: true, "log-level": "debug" });
 * ```
 */
export const commonOptions = {
  help: { type: "boolean", short: "h" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
} as const satisfies ParseArgsOptionsConfig;

/**
 * Parses a subcommand's arguments strictly, turning parseArgs' errors into one sentence.
 *
 * @param command The subcommand's name, for messages.
 * @param args The arguments after the subcommand.
 * @param options The subcommand's own options (the common ones are added).
 * @param positionals How many positional arguments are allowed.
 * @returns Values and positionals.
 * @throws {UsageError} For an unknown option, a missing value, or too many positionals.
 *
 * @example One sentence for each mistake, naming the subcommand
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseCommandArgs, UsageError } from "./_args.ts";
 *
 * const options = { room: { type: "string" } } as const;
 * const { values, positionals } = parseCommandArgs("ipc", ["ls", "--room", "lobby"], options, 1);
 * assert.deepEqual({ ...values }, { room: "lobby" });
 * assert.deepEqual(positionals, ["ls"]);
 * assert.throws(() => parseCommandArgs("ipc", ["--rooom", "lobby"], options), UsageError);
 * assert.throws(
 *   () => parseCommandArgs("ipc", ["ls", "extra"], options, 1),
 *   { name: "UsageError", message: 'ipc: unexpected argument "extra"' },
 * );
 * ```
 */
export function parseCommandArgs(
  command: string,
  args: string[],
  options: ParseArgsOptionsConfig,
  positionals = 0,
): { values: Values; positionals: string[] } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: { ...commonOptions, ...options },
      allowPositionals: positionals > 0,
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`${command}: ${message.replace(/\. To specify .*$/s, "")}`);
  }
  if (parsed.positionals.length > positionals) {
    const extra = parsed.positionals.slice(positionals).join(" ");
    throw new UsageError(`${command}: unexpected argument "${extra}"`);
  }
  return { values: parsed.values as Values, positionals: parsed.positionals };
}

/** Bounds for {@link intOption}. */
export interface IntBounds {
  /** Smallest allowed value. @default {0} */
  min?: number;
  /** Largest allowed value. @default {Number.MAX_SAFE_INTEGER} */
  max?: number;
}

/**
 * Reads a whole-number option, with a message naming the option when it is not one.
 *
 * @param values Parsed values.
 * @param name The option's name without dashes.
 * @param fallback The value when the option is absent.
 * @param bounds Allowed range.
 * @returns The number.
 * @throws {UsageError} When the value is not a whole number within the bounds.
 *
 * @example The fallback when absent; a message naming the option when out of range
 * ```ts
 * import assert from "node:assert/strict";
 * import { intOption } from "./_args.ts";
 *
 * assert.equal(intOption({}, "port", 54000), 54000);
 * assert.equal(intOption({ port: "6667" }, "port", 54000, { max: 65535 }), 6667);
 * assert.throws(() => intOption({ port: "70000" }, "port", 54000, { max: 65535 }), {
 *   message: '--port must be a whole number from 0 to 65535, not "70000"',
 * });
 * assert.throws(() => intOption({ port: "1e3" }, "port", 54000), /not "1e3"/);
 * ```
 */
export function intOption(
  values: Values,
  name: string,
  fallback: number,
  bounds: IntBounds = {},
): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const min = bounds.min ?? 0;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  const text = String(raw);
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${text}"`);
  }
  return value;
}

/**
 * Reads a string option.
 *
 * @param values Parsed values.
 * @param name The option's name without dashes.
 * @param fallback The value when absent.
 * @returns The string.
 *
 * @example The value, or the fallback when absent
 * ```ts
 * import assert from "node:assert/strict";
 * import { stringOption } from "./_args.ts";
 *
 * assert.equal(stringOption({ host: "example.org" }, "host", "127.0.0.1"), "example.org");
 * assert.equal(stringOption({}, "host", "127.0.0.1"), "127.0.0.1");
 * ```
 */
export function stringOption(values: Values, name: string, fallback: string): string {
  const raw = values[name];
  return raw === undefined ? fallback : String(raw);
}

/**
 * Reads a string option that must be one of a few words.
 *
 * @param values Parsed values.
 * @param name The option's name without dashes.
 * @param choices The allowed words; the first is the default.
 * @returns The chosen word.
 * @throws {UsageError} When the value is none of the words.
 *
 * @example The first word by default; another word is refused with the list
 * ```ts
 * import assert from "node:assert/strict";
 * import { choiceOption } from "./_args.ts";
 *
 * assert.equal(choiceOption({}, "format", ["text", "json"]), "text");
 * assert.equal(choiceOption({ format: "json" }, "format", ["text", "json"]), "json");
 * assert.throws(() => choiceOption({ format: "xml" }, "format", ["text", "json"]), {
 *   message: '--format must be one of text, json, not "xml"',
 * });
 * ```
 */
export function choiceOption<T extends string>(values: Values, name: string, choices: T[]): T {
  const value = stringOption(values, name, choices[0]);
  if (!choices.includes(value as T)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, not "${value}"`);
  }
  return value as T;
}
