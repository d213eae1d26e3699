/**
 * What in a capability-granting file grants more than the defaults (issue 13, "What counts as
 * weakening"). Each finding is the key as a person would look for it in the file. Narrowing a
 * setting (an empty list, a stricter mode) is not weakening. Pure.
 */
import { posix } from "node:path";
import { hardeningSchema } from "../config/hardening-schema.js";
import type { ProjectConfig } from "../config/project-schema.js";
import type { ApprovalFile } from "./approval-files.js";

const HARDENING_DEFAULTS: Record<string, unknown> = hardeningSchema.parse({});

const nonEmpty = (v: unknown): boolean =>
  Array.isArray(v) ? v.length > 0 : typeof v === "object" && v !== null && Object.keys(v).length > 0;

/**
 * Keys that only narrow: `runtime` selects gVisor, and the start check refuses any runtime that is
 * not runsc registered with ocbox's flags (runtime-check.ts).
 */
const NARROWING_ONLY = new Set(["runtime"]);

/** `hardening.*` keys whose value differs from the hardened default. */
function hardeningRelaxations(hardening: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const [key, value] of Object.entries(hardening)) {
    if (value === undefined || NARROWING_ONLY.has(key)) continue;
    const dflt = HARDENING_DEFAULTS[key];
    if (Array.isArray(value) ? value.length > 0 : JSON.stringify(value) !== JSON.stringify(dflt))
      keys.push(`hardening.${key}`);
  }
  return keys;
}

/** Is `file` (relative to the config's folder) outside that folder? */
export function leavesFolder(file: string): boolean {
  if (posix.isAbsolute(file) || /^[A-Za-z]:[\\/]/.test(file)) return true;
  const normal = posix.normalize(file.replace(/\\/g, "/"));
  return normal === ".." || normal.startsWith("../");
}

function roleWeakening(config: ProjectConfig): string[] {
  const keys: string[] = [];
  for (const [name, role] of Object.entries(config.roles ?? {})) {
    if (role.systemPromptFile !== undefined && leavesFolder(role.systemPromptFile))
      keys.push(`roles.${name}.systemPromptFile (outside the config's folder)`);
  }
  return keys;
}

/** ocbox.yaml (or a workflow file): the keys that grant more than the defaults. */
export function configWeakening(config: ProjectConfig): string[] {
  const keys: string[] = [];
  for (const [key, value] of Object.entries(config.unsafe ?? {})) if (value) keys.push(`unsafe.${key}`);
  keys.push(...hardeningRelaxations(config.hardening ?? {}));
  const egress = config.egress;
  if (egress) {
    if (nonEmpty(egress.allow) && egress.restricted !== true) keys.push("egress.allow");
    if (nonEmpty(egress.hostPorts)) keys.push("egress.hostPorts");
    if (nonEmpty(egress.gateways)) keys.push("egress.gateways");
  }
  const env = config.env;
  if (env) {
    if (nonEmpty(env.map)) keys.push("env.map");
    if (nonEmpty(env.set)) keys.push("env.set");
    if (nonEmpty(env.passthroughPrefixes)) keys.push("env.passthroughPrefixes");
  }
  // A model endpoint on the host's loopback is forwarded into the sandbox like egress.hostPorts.
  const modelURL = config.model?.baseURL;
  if (modelURL !== undefined && isLoopbackURL(modelURL)) keys.push("model.baseURL");
  if (config.image?.base !== undefined) keys.push("image.base");
  if (nonEmpty(config.image?.packages)) keys.push("image.packages");
  if (nonEmpty(config.apt?.allow)) keys.push("apt.allow");
  keys.push(...roleWeakening(config));
  return keys;
}

/** A host name or address that is this machine's loopback (or every address). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (/^127(\.\d{1,3}){0,3}$/.test(h) || /^0+(\.0+){0,3}$/.test(h)) return true;
  if (/^0x7f/i.test(h) || /^2130706\d{3}$/.test(h)) return true;
  return h === "::1" || h === "::" || /^(0{0,4}:){2,7}0{0,3}1$/.test(h) || h.startsWith("::ffff:127.");
}

function urlHost(value: string): string | undefined {
  try {
    return new URL(value).hostname;
  } catch (e) {
    if (e instanceof TypeError) return undefined;
    throw e;
  }
}

/** A URL whose host is loopback; one ocbox cannot parse counts too (never guess it away). */
function isLoopbackURL(value: string): boolean {
  const host = urlHost(value);
  return host === undefined || isLoopbackHost(host);
}

const asRecord = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** opencode.json(c): loopback base URLs, MCP servers, plugins and permission entries. */
export function opencodeWeakening(config: Record<string, unknown>): string[] {
  const keys: string[] = [];
  for (const [id, provider] of Object.entries(asRecord(config.provider) ?? {})) {
    const baseURL = asRecord(asRecord(provider)?.options)?.baseURL;
    if (typeof baseURL !== "string") continue;
    if (isLoopbackURL(baseURL)) keys.push(`provider.${id}.options.baseURL`);
  }
  if (nonEmpty(config.mcp)) keys.push("mcp");
  if (nonEmpty(config.plugin) || (typeof config.plugin === "string" && config.plugin !== ""))
    keys.push("plugin");
  if (config.permission !== undefined) keys.push("permission");
  return keys;
}

/** The weakening keys of one file. A hook runs on the host; a benchmark task's files always count. */
export function weakeningKeys(file: ApprovalFile): string[] {
  switch (file.kind) {
    case "ocbox-yaml":
    case "workflow":
      return configWeakening(file.config);
    case "opencode-json":
      return opencodeWeakening(file.config);
    case "hook":
      return file.empty ? [] : ["runs on the host"];
    case "task-toml":
      return ["the task's environment, verifier and limits"];
    case "task-dockerfile":
      return ["built on the host's engine"];
  }
}
