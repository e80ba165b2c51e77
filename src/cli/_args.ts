import { parseArgs, type ParseArgsOptionsConfig } from "node:util";

/** A mistake in how the command was called: reported without a stack trace, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An expected failure at run time (a port in use, a room full …): exit code 1, no trace. */
export class CliError extends Error {
  /** The process exit code. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "CliError";
    this.exitCode = exitCode;
  }
}

/** Parsed option values, as node:util's parseArgs gives them. */
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** Options every subcommand accepts. */
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
 */
export function choiceOption<T extends string>(values: Values, name: string, choices: T[]): T {
  const value = stringOption(values, name, choices[0]);
  if (!choices.includes(value as T)) {
    throw new UsageError(`--${name} must be one of ${choices.join(", ")}, not "${value}"`);
  }
  return value as T;
}
