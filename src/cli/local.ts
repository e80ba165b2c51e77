/**
 * `shmooze local`: chat with other processes on this machine through a shared-memory room,
 * one line per message, with no server.
 *
 * @module
 */

import process from "node:process";
import { createInterface } from "node:readline";
import { IpcError } from "../ipc/ipc_error.ts";
import { MAX_MESSAGE_BYTES, Room, type RoomEvent } from "../ipc/room.ts";
import { splitWords } from "../chat/split_text.ts";
import { escapeControls } from "../chat/terminal_text.ts";
import { BRIDGE_NAME, relayedMessage, toNetworkUser } from "../bridge/room_protocol.ts";
import { parseCommandArgs, stringOption, UsageError } from "./_args.ts";
import type { Command } from "./command.ts";
import { onStopSignals } from "./_signals.ts";
import { roomAdvice, withAdvice } from "./_hints.ts";

const help = `Usage: shmooze local [--room NAME] [--name NAME]

Chat with other processes on this machine through shared memory: no server, no network.
Every \`shmooze local\` of this user with the same --room shares one ring of messages.

Options:
  --room NAME      The room to join (default: lobby)
  --name NAME      Your name in the room, unique there: 1 to 32 bytes of letters, digits and
                   _-.[]{}\\|^\` (default: $USER-PID, e.g. ann-4242)

Type a line to send it to everyone. Lines longer than ${MAX_MESSAGE_BYTES} bytes are split between
words into several messages of at most ${MAX_MESSAGE_BYTES} bytes. Control characters in what
others send (escape sequences, C1 controls, bidi overrides) are shown escaped, as ^[ or
\\u009b, never passed to the terminal. Commands:
  /msg NAME TEXT   Send TEXT to NAME only; when a server bridges the room (a participant
                   called ${BRIDGE_NAME}) and NAME is not in the room, to NAME on the network
  /who             List who is in the room
  /quit            Leave (so do Ctrl-C, SIGTERM and the end of input)

What it prints (one line each; tests and scripts may rely on it):
  joined room lobby as ann (3 here)     once, when you are in
  [12:00:01] <bob> hello                a message to everyone
  [12:00:01] *bob* (private) hi         a message to you only
  [12:00:01] <dan@${BRIDGE_NAME}> hi              dan on the network, through a bridging server
  [12:00:01] * carl joined              also "* carl left"
  [12:00:01] ! missed 12 messages       you fell more than a ring behind
  here: ann (you), bob, carl            the answer to /who
  ! nobody called dan is in the room    a command that failed (you stay in)
  left room lobby                       once, when you leave

Exit codes: 0 after leaving; 1 if you cannot join (the name is taken, the room is full,
another user made its shared memory, or it is corrupt) or the room turns corrupt while you
are in it. The last one to leave removes the room's shared memory.

Examples:
  shmooze local
  shmooze local --room study --name ann
  echo "hello" | shmooze local --name bot`;

/**
 * Prints one line. Names and messages come from other processes (and, through a bridge,
 * from anyone on the network): their control characters are shown, not obeyed.
 */
function show(line: string): void {
  console.log(escapeControls(line));
}

function defaultName(): string {
  const user = Deno.env.get("USER") ?? Deno.env.get("USERNAME") ?? "user";
  return `${user.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 20)}-${Deno.pid}`;
}

function clock(time: number): string {
  const d = new Date(time);
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, "0")).join(":");
}

/**
 * One received event as the line `shmooze local` prints.
 *
 * @param event The event.
 * @returns The line, without a newline.
 */
function formatEvent(event: RoomEvent): string {
  const at = `[${clock(event.time)}]`;
  switch (event.kind) {
    case "message": {
      const { sender, text } = relayedMessage(event) ??
        { sender: event.from.name, text: event.text };
      return event.to === 0 ? `${at} <${sender}> ${text}` : `${at} *${sender}* (private) ${text}`;
    }
    case "join":
      return `${at} * ${event.from.name} joined`;
    case "leave":
      return `${at} * ${event.from.name} left`;
    case "missed":
      return `${at} ! missed ${event.missed} messages`;
  }
}

/** Runs one typed line; false when it asks to leave. */
function handleLine(room: Room, line: string): boolean {
  const command = /^\/(\S+)\s*(.*)$/.exec(line);
  if (command === null) {
    if (line.length > 0) {
      for (const piece of splitWords(line, MAX_MESSAGE_BYTES)) room.send(piece);
    }
    return true;
  }
  const [, word, rest] = command;
  if (word === "quit") return false;
  if (word === "who") {
    const names = room.participants().map((p) => p.id === room.id ? `${p.name} (you)` : p.name);
    show(`here: ${names.join(", ")}`);
  } else if (word === "msg") {
    const target = /^(\S+)\s+(.+)$/.exec(rest);
    if (target === null) {
      show("! usage: /msg NAME TEXT");
      return true;
    }
    const [, name, text] = target;
    const here = room.participants().map((p) => p.name);
    if (!here.includes(name) && here.includes(BRIDGE_NAME)) {
      for (const message of toNetworkUser(name, text)) room.send(message, BRIDGE_NAME);
      return true;
    }
    try {
      for (const piece of splitWords(text, MAX_MESSAGE_BYTES)) room.send(piece, name);
    } catch (error) {
      if (!(error instanceof IpcError) || error.code !== "ENOENT") throw error;
      show(`! nobody called ${name} is in the room`);
    }
  } else {
    show(`! unknown command /${word}; the commands are /msg NAME TEXT, /who, /quit`);
  }
  return true;
}

/** Joins the room and chats until the user leaves; 0 when they did. */
async function chat(roomName: string, name: string): Promise<number> {
  const room = Room.join(roomName, name);
  const stop = new AbortController();
  const input = createInterface({ input: process.stdin, terminal: false });
  const quit = () => stop.abort();
  stop.signal.addEventListener("abort", () => input.close(), { once: true });
  const stopListening = onStopSignals(quit);
  try {
    show(`joined room ${room.room} as ${room.name} (${room.participants().length} here)`);
    let failure: unknown;
    const reading = (async () => {
      for await (const event of room.events(stop.signal)) show(formatEvent(event));
    })().catch((error) => {
      // The room became unreadable (corrupt): stop taking input, and say why below.
      failure = error;
      stop.abort();
    });
    for await (const line of input) {
      if (!handleLine(room, line)) break;
    }
    stop.abort();
    await reading;
    if (failure !== undefined) throw failure;
  } finally {
    // Leave before letting go of the signals: a SIGTERM that lands while we leave (say,
    // just after the end of input) must not kill us with the room half left.
    try {
      room.leave();
    } finally {
      stopListening();
    }
  }
  show(`left room ${room.room}`);
  return 0;
}

/**
 * `shmooze local`: console chat over a shared-memory room.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./_args.ts";
 * import { localCommand } from "./local.ts";
 *
 * assert.match(localCommand.help, /--room NAME/);
 * await assert.rejects(localCommand.run(["--room", ""]), UsageError);
 * ```
 */
export const localCommand: Command = {
  name: "local",
  summary: "Chat with processes on this machine through shared memory",
  help,
  async run(args) {
    const { values } = parseCommandArgs("local", args, {
      room: { type: "string" },
      name: { type: "string" },
    });
    const roomName = stringOption(values, "room", "lobby");
    if (roomName.length === 0) throw new UsageError("--room must not be empty");
    try {
      return await chat(roomName, stringOption(values, "name", defaultName()));
    } catch (error) {
      throw withAdvice(error, (e) => roomAdvice(e, { room: "--room", name: "--name" }));
    }
  },
};
