/**
 * A user connected to another node, as this node's hub holds it: it has a nick, channels and a
 * mask like anyone, and no device — what it should see, its own node shows it (that node
 * applies the same log), so here every event for it is dropped.
 *
 * @module
 */
import type { ChatEvent } from "../chat/chat_event.ts";
import type { Member } from "../chat/member.ts";
import type { ConnectEvent } from "./cluster_event.ts";

/** A user of another node. */
export class RemoteMember implements Member {
  nick: string;
  user: string;
  host: string;
  realname: string;
  readonly transport = "cluster";
  readonly channels: Set<string> = new Set();
  readonly connectedAt: number;
  account?: string;
  readonly echo = false;
  /** Its own node shows it its channels' messages: this node's hub skips it. */
  readonly deliveredElsewhere = true;
  /** The node it is connected to. */
  readonly node: string;
  /** Its connection on that node. */
  readonly conn: string;

  /**
   * Makes the user a `connect` event announced.
   *
   * @param event The event.
   */
  constructor(event: ConnectEvent) {
    this.nick = event.nick;
    this.user = event.user;
    this.host = event.host;
    this.realname = event.realname;
    this.account = event.account;
    this.connectedAt = event.time;
    this.node = event.node;
    this.conn = event.conn;
  }

  /** Its own node delivers to it. */
  deliver(_event: ChatEvent): void {}

  /** Its own node closes its connection. */
  disconnect(_reason: string): void {}
}
