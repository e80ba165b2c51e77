/**
 * Server operator commands: OPER and KILL (no operators are configured yet).
 *
 * @module
 */
import { Numeric } from "../numerics.ts";
import type { Handler } from "./handler.ts";

/** The operator commands, by name. */
export const OPERATOR_COMMANDS: Record<string, Handler> = {
  KILL: (session) => session.reply(Numeric.ERR_NOPRIVILEGES, "Permission Denied"),
  OPER: (session) => session.reply(Numeric.ERR_NOOPERHOST, "No O-lines for your host"),
};
