/**
 * The server transport setting (OCBOX_SERVER_TRANSPORT, `--server-transport`), apart from the
 * transports themselves (server-transport.ts), so that the CLI's entry point reads it without
 * loading undici. Pure.
 */
import { OcboxError } from "../errors.js";

export type ServerTransport = "port" | "exec";
export type TransportSetting = "auto" | ServerTransport;

/** The environment variable (and `--server-transport`) that forces a transport. */
export const TRANSPORT_ENV = "OCBOX_SERVER_TRANSPORT";

/** The setting in `env`: auto (the default), port or exec; anything else is a USAGE error. Pure. */
export function transportSetting(env: NodeJS.ProcessEnv): TransportSetting {
  const v = env[TRANSPORT_ENV]?.trim().toLowerCase() ?? "";
  if (v === "" || v === "auto") return "auto";
  if (v === "port" || v === "exec") return v;
  throw new OcboxError("USAGE", `${TRANSPORT_ENV}=${env[TRANSPORT_ENV]} is not a server transport`, {
    fix: `Set ${TRANSPORT_ENV} (or --server-transport) to auto, port or exec, or unset it.`,
  });
}
