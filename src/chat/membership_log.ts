/**
 * Who was in which channel when: what message search needs to find a channel's messages only
 * for those who were there when they were said. An account's stretches in each channel are
 * stored with the history (they outlive its connections and the server); a guest's are kept
 * in memory for its connection, so a guest finds what was said in its channels since it
 * joined them, and nothing once it is gone. A stretch is cut at message ids, not times (see
 * `ChannelPresence`).
 *
 * @module
 */
import { getLogger } from "@logtape/logtape";
import { foldCase } from "./casemap.ts";
import type { ChannelPresence, HistoryStore } from "./history.ts";
import type { Member } from "./member.ts";

const log = getLogger(["shmooze", "history", "presence"]);

/**
 * The channel stretches of every member, for search: the hub reports each JOIN, leave and
 * login; {@link MembershipLog.presenceOf} gives what one member's connection saw.
 *
 * @example A member's stretch in a channel starts when it joins and ends when it leaves
 * ```ts
 * import assert from "node:assert/strict";
 * import { HistoryStore } from "./history.ts";
 * import { MembershipLog } from "./membership_log.ts";
 * import type { Member } from "./member.ts";
 *
 * const dir = Deno.makeTempDirSync();
 * const history = HistoryStore.open(dir);
 * const memberships = new MembershipLog(history);
 * const ann = { nick: "ann", channels: new Set<string>() } as Member;
 * memberships.joined(ann, "#lobby");
 * const { id } = history.append({
 *   msgid: "m1",
 *   time: Date.now(),
 *   sender: "bob",
 *   senderMask: "bob!bob@localhost",
 *   target: "#lobby",
 *   command: "PRIVMSG",
 *   text: "hi",
 * });
 * memberships.left(ann, "#lobby");
 * assert.deepEqual(memberships.presenceOf(ann), [
 *   { channel: "#lobby", afterId: 0, untilId: id },
 * ]);
 * history.close();
 * Deno.removeSync(dir, { recursive: true });
 * ```
 */
export class MembershipLog {
  readonly #history: HistoryStore;
  /** Each member's stretches since it connected, by channel as named when it joined. */
  readonly #stretches = new WeakMap<Member, ChannelPresence[]>();

  /**
   * Starts the log of a server that is starting: stretches left open by the last run end
   * where its history ends (nobody was in a channel while the server was down).
   *
   * @param history The history store.
   */
  constructor(history: HistoryStore) {
    this.#history = history;
    this.#store("end the channel presence of the last run", () => history.endEveryPresence());
  }

  /**
   * Records that a member joined a channel: in memory, and for its account if it has one.
   *
   * @param member The member.
   * @param channel The channel's name.
   */
  joined(member: Member, channel: string): void {
    const afterId = this.#lastId();
    if (afterId === undefined) return;
    let stretches = this.#stretches.get(member);
    if (stretches === undefined) this.#stretches.set(member, stretches = []);
    stretches.push({ channel, afterId });
    const account = member.account;
    if (account !== undefined) {
      this.#store(
        `store that ${account} joined ${channel}`,
        () => this.#history.beginPresence(account, channel, afterId),
      );
    }
  }

  /**
   * Records that a member left a channel (PART, KICK, QUIT, its connection closed).
   *
   * @param member The member.
   * @param channel The channel's name.
   */
  left(member: Member, channel: string): void {
    // Committed only: a failed commit gives its ids again, to messages sent after this.
    const untilId = this.#lastId(true);
    if (untilId === undefined) return;
    for (const stretch of this.#open(member, channel)) stretch.untilId = untilId;
    const account = member.account;
    if (account !== undefined) {
      this.#store(
        `store that ${account} left ${channel}`,
        () => this.#history.endPresence(account, channel, untilId),
      );
    }
  }

  /**
   * Records that a member logged in to an account: the account is in the member's channels
   * from when the member joined them (it was there, as this person). An account it was logged
   * in to before leaves them now.
   *
   * @param member The member, its `account` set.
   * @param previous The account it was logged in to before, if any.
   */
  loggedIn(member: Member, previous?: string): void {
    const account = member.account;
    if (account === undefined || previous === account) return;
    const untilId = previous === undefined ? undefined : this.#lastId(true);
    for (const { channel, afterId, untilId: ended } of this.#stretches.get(member) ?? []) {
      if (ended !== undefined) continue;
      if (previous !== undefined && untilId !== undefined) {
        this.#store(
          `store that ${previous} left ${channel}`,
          () => this.#history.endPresence(previous, channel, untilId),
        );
      }
      this.#store(
        `store that ${account} is in ${channel}`,
        () => this.#history.beginPresence(account, channel, afterId),
      );
    }
  }

  /**
   * The stretches a member's own connection was in channels for (a guest has no others).
   *
   * @param member The member.
   * @returns Its stretches, oldest first.
   */
  presenceOf(member: Member): ChannelPresence[] {
    return (this.#stretches.get(member) ?? []).map((stretch) => ({ ...stretch }));
  }

  #open(member: Member, channel: string): ChannelPresence[] {
    const key = foldCase(channel);
    return (this.#stretches.get(member) ?? []).filter((stretch) =>
      stretch.untilId === undefined && foldCase(stretch.channel) === key
    );
  }

  #lastId(committed = false): number | undefined {
    let id: number | undefined;
    this.#store("read the last message id", () => id = this.#history.lastId(committed));
    return id;
  }

  /** Search is not worth refusing a JOIN for: a failed write is logged and the chat goes on. */
  #store(what: string, action: () => unknown): void {
    try {
      action();
    } catch (error) {
      log.error("Cannot {what} for search: {error}", { what, error });
    }
  }
}
