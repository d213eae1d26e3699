/**
 * The provider catalogue (models.dev data) bundled in the pinned OpenCode binary, read from the
 * binary's bytes: each provider is a minified object literal `id:{id:"ID",env:[…],npm:"PKG",
 * api:"URL",name:…}` (`api` only for providers that talk to a fixed OpenAI-compatible URL).
 * Providers whose SDK package has its own default endpoint (Anthropic, OpenAI, Google, …) carry
 * no `api`: their hosts are the packages' defaults (SDK_DEFAULT_HOSTS), each of which a test
 * checks is still in the pinned binary. Checked against opencode-ai 1.18.33. Pure.
 */

/**
 * Provider id → its key variables, SDK package and API host (when fixed). The planner's
 * ProviderCatalogue (plan/egress-gaps.ts) has this shape; plan/ does not import opencode/.
 */
export type ProviderCatalogue = Record<string, { env: string[]; npm: string; host?: string }>;

/** The literal that opens every provider entry (and a few other objects, which do not match). */
export const ENTRY_MARK = '{id:"';

const ENTRY =
  /^\{id:"([a-z0-9][\w.-]*)",env:\[((?:"[A-Za-z0-9_]+",?)*)\],npm:"([^"]+)",(?:api:"([^"]+)",)?name:"/;

/**
 * Default API hosts of the SDK packages that have one (their `baseURL` default, read from the
 * packages bundled in the pinned binary). Packages whose endpoint depends on the account
 * (Azure's resource, Bedrock's and Vertex's region) are not here: their hosts are not known
 * before the provider is configured.
 */
export const SDK_DEFAULT_HOSTS: Readonly<Record<string, string>> = {
  "@ai-sdk/anthropic": "api.anthropic.com",
  "@ai-sdk/openai": "api.openai.com",
  "@ai-sdk/google": "generativelanguage.googleapis.com",
  "@ai-sdk/groq": "api.groq.com",
  "@ai-sdk/mistral": "api.mistral.ai",
  "@ai-sdk/xai": "api.x.ai",
  "@ai-sdk/deepinfra": "api.deepinfra.com",
  "@ai-sdk/cerebras": "api.cerebras.ai",
  "@ai-sdk/cohere": "api.cohere.com",
  "@ai-sdk/perplexity": "api.perplexity.ai",
  "@ai-sdk/togetherai": "api.together.xyz",
};

/** One entry starting at `text` (the bytes from an ENTRY_MARK on), or undefined. */
export function parseEntry(text: string): [string, ProviderCatalogue[string]] | undefined {
  const m = ENTRY.exec(text);
  if (!m) return undefined;
  const [, id = "", env = "", npm = "", api] = m;
  const names = env === "" ? [] : env.split(",").map((s) => s.replace(/"/g, ""));
  const host = api !== undefined ? hostOf(api) : SDK_DEFAULT_HOSTS[npm];
  return [id, { env: names, npm, ...(host !== undefined ? { host } : {}) }];
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, "") || undefined;
  } catch (e) {
    if (e instanceof TypeError) return undefined; // a template URL (${RESOURCE}): not known ahead
    throw e;
  }
}

/** Every provider entry in the binary's bytes (the first entry of an id wins). */
export function parseCatalogue(bytes: Buffer): ProviderCatalogue {
  const out: ProviderCatalogue = {};
  const mark = Buffer.from(ENTRY_MARK, "latin1");
  for (let at = bytes.indexOf(mark); at >= 0; at = bytes.indexOf(mark, at + mark.length)) {
    const entry = parseEntry(bytes.toString("latin1", at, Math.min(bytes.length, at + 1024)));
    if (entry && out[entry[0]] === undefined) out[entry[0]] = entry[1];
  }
  return out;
}
