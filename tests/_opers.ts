/**
 * Server operator test helpers: an operator file with cheap hashes, and a client that opers
 * up.
 */
import { join } from "node:path";
import { hashPassword } from "../src/chat/accounts.ts";
import { IrcTestClient } from "./_irc.ts";

/** The password the helpers give every operator. */
export const OPER_PASSWORD = "operpassword";

/**
 * Writes an operator file (mode 0600) in `dir` with cheap argon2id hashes (a test's hash
 * takes a millisecond; the PHC string carries its cost, so the server checks it as written).
 *
 * @param dir The directory.
 * @param operators Name → password; every password {@link OPER_PASSWORD} by default.
 * @param fileName The file's name.
 * @returns The file's path.
 */
export async function writeOperFile(
  dir: string,
  operators: Record<string, string> | string[],
  fileName = "opers.conf",
): Promise<string> {
  const entries = Array.isArray(operators)
    ? operators.map((name) => [name, OPER_PASSWORD])
    : Object.entries(operators);
  const lines = ["# test operators"];
  for (const [name, password] of entries) {
    lines.push(`${name} ${await hashPassword(password, { memoryKiB: 64, iterations: 1 })}`);
  }
  const path = join(dir, fileName);
  await Deno.writeTextFile(path, `${lines.join("\n")}\n`, { mode: 0o600 });
  await Deno.chmod(path, 0o600);
  return path;
}

/**
 * Registers a client and opers it up (waits for 381 and its MODE +o).
 *
 * @param port The server's port.
 * @param nick The nick.
 * @param name The operator name. @default {the nick}
 * @returns The client, an operator.
 */
export async function operUser(port: number, nick: string, name = nick): Promise<IrcTestClient> {
  const client = await IrcTestClient.register(port, nick);
  await client.send(`OPER ${name} ${OPER_PASSWORD}`);
  await client.waitFor("381");
  await client.waitFor("MODE");
  return client;
}

/**
 * Connects and sends NICK/USER, expecting the server to refuse registration with 465: returns
 * the 465 line and the reason of the ERROR that follows.
 *
 * @param port The server's port.
 * @param nick The nick.
 * @returns The 465's text and the ERROR's.
 */
export async function refusedRegistration(
  port: number,
  nick: string,
): Promise<{ banned: string; error: string }> {
  await using client = await IrcTestClient.connect(port);
  await client.send(`NICK ${nick}`);
  await client.send(`USER ${nick} 0 * :${nick}`);
  const banned = await client.waitFor((m) => m.command === "465" || m.command === "001");
  if (banned.command !== "465") throw new Error(`${nick} was not refused: it got 001`);
  const error = await client.waitFor("ERROR");
  await closedWithin(client);
  return { banned: banned.params.at(-1)!, error: error.params[0] };
}

/**
 * Waits for the server to close a client's connection, failing after `timeoutMs`.
 *
 * @param client The client.
 * @param timeoutMs The limit.
 */
export async function closedWithin(client: IrcTestClient, timeoutMs = 5000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${client.nick || "client"}: still connected after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([client.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}
