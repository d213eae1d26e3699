/**
 * The per-container copy of the host's OpenCode auth.json (`{"<provider>": {type, key, …}}`):
 * only the providers the sandbox's config uses, and never one behind a model gateway, whose key
 * the gateway withholds from the agent. Pure: config and file text in, the copy's text out.
 */
import { OcboxError } from "../errors.js";
import { loopbackPort } from "../util/loopback.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** The provider of a `provider/model` reference. */
function providerOf(ref: unknown): string | undefined {
  if (typeof ref !== "string") return undefined;
  const slash = ref.indexOf("/");
  return slash > 0 ? ref.slice(0, slash) : undefined;
}

/**
 * Providers an OpenCode config uses: those of `model`, `small_model` and each agent's (or mode's)
 * `model`, and each block under `provider`.
 */
export function providersInUse(configs: ReadonlyArray<Json | undefined>): string[] {
  const found = new Set<string>();
  for (const config of configs) {
    if (!config) continue;
    const refs = [config.model, config.small_model];
    for (const group of [config.agent, config.mode])
      if (isObject(group)) for (const a of Object.values(group)) if (isObject(a)) refs.push(a.model);
    for (const ref of refs) {
      const p = providerOf(ref);
      if (p) found.add(p);
    }
    if (isObject(config.provider)) for (const p of Object.keys(config.provider)) found.add(p);
  }
  return [...found].sort();
}

/** Providers whose base URL is a model gateway's port inside the sandbox. */
export function providersBehindGateways(
  configs: ReadonlyArray<Json | undefined>,
  gatewayPorts: ReadonlySet<number>,
): string[] {
  const found = new Set<string>();
  for (const config of configs) {
    if (!config || !isObject(config.provider)) continue;
    for (const [id, block] of Object.entries(config.provider)) {
      const url = isObject(block) && isObject(block.options) ? block.options.baseURL : undefined;
      const port = typeof url === "string" ? loopbackPort(url) : undefined;
      if (port !== undefined && gatewayPorts.has(port)) found.add(id);
    }
  }
  return [...found].sort();
}

/** Every string inside a value (an auth entry's key, tokens, …). */
function strings(v: unknown): string[] {
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (isObject(v)) return Object.values(v).flatMap(strings);
  return [];
}

export interface AuthCopy {
  /** The copy's text (JSON). */
  text: string;
  copied: string[];
  /** Providers in the host file that stay out, with why (names only, never a value). */
  left: Array<{ provider: string; why: "unused" | "gateway" }>;
}

/**
 * The copy of auth.json for one container: the entries of `providers`, minus any entry holding a
 * gateway's key (whatever it is called). Throws CONFIG for a file that is not a JSON object.
 */
export function authCopy(
  text: string,
  file: string,
  providers: readonly string[],
  gatewayKeys: readonly string[],
): AuthCopy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new OcboxError("CONFIG", `${file} is not valid JSON`, {
      detail: e instanceof Error ? e.message : String(e),
      fix: "Repair it (`opencode auth login` rewrites it), or move it away to start without OpenCode credentials.",
    });
  }
  if (!isObject(parsed)) {
    throw new OcboxError("CONFIG", `${file} is not a JSON object of providers`, {
      fix: 'It should look like {"<provider>": {"type": "api", "key": "…"}}; repair or move it away.',
    });
  }
  const keys = gatewayKeys.filter((k) => k.length > 0);
  const holdsGatewayKey = (entry: unknown) =>
    strings(entry).some((s) => keys.some((k) => s === k || (k.length >= 8 && s.includes(k))));
  const out: Json = {};
  const copied: string[] = [];
  const left: AuthCopy["left"] = [];
  for (const [provider, entry] of Object.entries(parsed)) {
    if (!providers.includes(provider)) left.push({ provider, why: "unused" });
    else if (holdsGatewayKey(entry)) left.push({ provider, why: "gateway" });
    else {
      out[provider] = entry;
      copied.push(provider);
    }
  }
  return { text: JSON.stringify(out, null, 2), copied, left };
}
