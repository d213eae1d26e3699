/**
 * The effective logging settings of an eval command, from its flags and the environment
 * (FEATURES F4–F6). Pure.
 */
import type { LogLevel } from "../sandbox/spec.js";

export interface LoggingSettings {
  agentLogs: boolean;
  verbose: boolean;
  /** Print the sandbox's container (server) logs, prefixed `[container]`. */
  streamContainerLogs: boolean;
  serverLogLevel: LogLevel;
  printServerLogs: boolean;
  extraEnvPrefixes: string[];
}

const LEVELS: readonly LogLevel[] = ["DEBUG", "INFO", "WARN", "ERROR"];

export function loggingSettings(
  flags: { agentLogs?: boolean; verbose?: boolean },
  env: NodeJS.ProcessEnv,
): LoggingSettings {
  const verbose = flags.verbose ?? false;
  const agentLogs = verbose || (flags.agentLogs ?? false);
  const level = (env.OCBOX_SERVER_LOG_LEVEL ?? "INFO").toUpperCase() as LogLevel;
  const printServerLogs = agentLogs || env.OCBOX_SERVER_PRINT_LOGS === "1";
  return {
    agentLogs,
    verbose,
    streamContainerLogs: env.OCBOX_STREAM_CONTAINER_LOGS !== "0" && printServerLogs,
    serverLogLevel: agentLogs ? "DEBUG" : LEVELS.includes(level) ? level : "INFO",
    printServerLogs,
    extraEnvPrefixes: (env.OCBOX_EXTRA_ENV_PREFIXES ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

export function describeLogging(s: LoggingSettings): string {
  return (
    `logging: server log level ${s.serverLogLevel}, server logs ${s.printServerLogs ? "printed" : "off"}, ` +
    `container logs ${s.streamContainerLogs ? "streamed" : "off"}, agent logs ${s.agentLogs ? "on" : "off"}, ` +
    `verbose ${s.verbose ? "on" : "off"}${s.extraEnvPrefixes.length ? `, extra env prefixes ${s.extraEnvPrefixes.join(",")}` : ""}`
  );
}

/** Host variables whose names start with one of the prefixes (set and non-empty). */
export function envByPrefixes(prefixes: readonly string[], env: NodeJS.ProcessEnv): Record<string, string> {
  if (prefixes.length === 0) return {};
  return Object.fromEntries(
    Object.entries(env).filter(
      (e): e is [string, string] => !!e[1] && prefixes.some((p) => e[0].startsWith(p)),
    ),
  );
}
