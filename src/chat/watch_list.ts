/**
 * Who watches which nick (IRC's MONITOR): a device (one connection of a user) asks to be told
 * when a nick comes online or goes offline, and the hub asks this list whom to tell. Nicks, not masks: nobody can follow a
 * person across nick changes by their host.
 *
 * @module
 */
import { foldCase } from "./casemap.ts";
import type { Device } from "./member.ts";

/**
 * The nicks each device watches, and the watchers of each nick.
 *
 * @example ann watches bob; the list answers both ways
 * ```ts
 * import assert from "node:assert/strict";
 * import type { Device } from "./member.ts";
 * import { WatchList } from "./watch_list.ts";
 *
 * const ann = { transport: "tcp" } as Device;
 * const list = new WatchList();
 * list.add(ann, "Bob");
 * assert.deepEqual([...list.watchers("BOB")], [ann]);
 * assert.deepEqual(list.watched(ann), ["Bob"]);
 * assert.ok(list.has(ann, "bob"));
 * list.remove(ann, "bob");
 * assert.equal(list.watchers("bob").size, 0);
 * assert.equal(list.count(ann), 0);
 * ```
 */
export class WatchList {
  /** Watchers by folded nick. */
  readonly #watchers = new Map<string, Set<Device>>();
  /** Per member: the folded nicks it watches, to the spelling it asked for. */
  readonly #watched = new Map<Device, Map<string, string>>();

  /**
   * Starts watching a nick (nothing changes when already watched).
   *
   * @param member The watcher.
   * @param nick The nick.
   */
  add(member: Device, nick: string): void {
    const key = foldCase(nick);
    let nicks = this.#watched.get(member);
    if (nicks === undefined) this.#watched.set(member, nicks = new Map());
    if (nicks.has(key)) return;
    nicks.set(key, nick);
    let watchers = this.#watchers.get(key);
    if (watchers === undefined) this.#watchers.set(key, watchers = new Set());
    watchers.add(member);
  }

  /**
   * Stops watching a nick.
   *
   * @param member The watcher.
   * @param nick The nick, any case.
   */
  remove(member: Device, nick: string): void {
    const key = foldCase(nick);
    const nicks = this.#watched.get(member);
    if (nicks === undefined || !nicks.delete(key)) return;
    if (nicks.size === 0) this.#watched.delete(member);
    const watchers = this.#watchers.get(key);
    watchers?.delete(member);
    if (watchers?.size === 0) this.#watchers.delete(key);
  }

  /**
   * Stops every watch of a member (it cleared its list, or left).
   *
   * @param member The watcher.
   */
  clear(member: Device): void {
    for (const nick of this.watched(member)) this.remove(member, nick);
  }

  /**
   * Whether a member watches a nick.
   *
   * @param member The watcher.
   * @param nick The nick, any case.
   * @returns True when it does.
   */
  has(member: Device, nick: string): boolean {
    return this.#watched.get(member)?.has(foldCase(nick)) ?? false;
  }

  /**
   * How many nicks a member watches.
   *
   * @param member The watcher.
   * @returns The count.
   */
  count(member: Device): number {
    return this.#watched.get(member)?.size ?? 0;
  }

  /**
   * The nicks a member watches, as it spelled them.
   *
   * @param member The watcher.
   * @returns The nicks.
   */
  watched(member: Device): string[] {
    return [...(this.#watched.get(member)?.values() ?? [])];
  }

  /**
   * Who watches a nick.
   *
   * @param nick The nick, any case.
   * @returns The watchers (a live set: copy it before changing the list).
   */
  watchers(nick: string): ReadonlySet<Device> {
    return this.#watchers.get(foldCase(nick)) ?? NOBODY;
  }
}

const NOBODY: ReadonlySet<Device> = new Set();
