/**
 * The project config file, `ocbox.yaml`, at the project root (FEATURES A, B, C4, D). Strict: an
 * unknown key is an error. Keys are camelCase throughout (`hostPorts`, `passthroughPrefixes`);
 * `baseURL` keeps OpenCode's own spelling. Every key has a default, so an empty file is valid.
 *
 * The schema is the single source for the types, the defaults, the JSON Schema that editors use
 * (`schema/ocbox.schema.json`, see json-schema.ts) and the error messages (parse.ts).
 */
import { z } from "zod";
import { workflowKeys } from "./workflow-schema.js";
import { volumeListProblems, volumePathProblem } from "./volume-paths.js";
import {
  ALLOW_ENTRY_PATTERN,
  allowEntryProblem,
  debianPackageProblem,
  envNameProblem,
  envPrefixProblem,
  hostVarProblem,
  httpUrlProblem,
  imageRefProblem,
  looksLikeSecret,
  projectPathProblem,
  withProblem,
} from "./checks.js";
import { reservedEnvReason } from "./env-rules.js";
import { gatewayNetwork, gatewayNetworkProblems } from "./gateway-network-schema.js";
import { hardeningSchema } from "./hardening-schema.js";
import { MIN_MEMORY_BYTES, parseMemory } from "./limits.js";
import { monitorsSchema } from "./monitors-schema.js";
import { aptSchema } from "./apt-schema.js";
import { workspaceNameProblem } from "./workspace-mount.js";
import { workspaceSchema } from "./workspace-schema.js";

export const PROJECT_CONFIG_FILE = "ocbox.yaml";
export const DEFAULT_HOOK_PATH = ".ocbox/pre-start.sh";
export const SANDBOX_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

const port = z.number().int().min(1).max(65535);

const ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";

/** A container variable name that a rule may set. */
const containerVar = withProblem(z.string(), (name) => {
  const found = envNameProblem(name);
  if (found) return found;
  const reserved = reservedEnvReason(name);
  return reserved
    ? { problem: `${name} cannot be set from the config (${reserved})`, fix: "use another name" }
    : undefined;
}).meta({ pattern: ENV_NAME_PATTERN });
const hostVar = withProblem(z.string(), hostVarProblem).meta({ pattern: ENV_NAME_PATTERN });

const gateway = z
  .strictObject({
    upstream: withProblem(z.string(), (text) => {
      const found = httpUrlProblem(text);
      if (found) return found;
      const url = new URL(text);
      return url.pathname !== "/" || url.search !== "" || url.hash !== ""
        ? {
            problem: `"${text}" has a path; a gateway forwards to an origin`,
            fix: `write just ${url.origin}; the agent's baseURL carries the path: http://127.0.0.1:<port>${url.pathname.replace(/\/+$/, "")}`,
          }
        : undefined;
    })
      .meta({ format: "uri" })
      .describe("Origin of the OpenAI-compatible API, e.g. https://api.openai.com or http://127.0.0.1:8080."),
    port: port.describe(
      "Port on 127.0.0.1 inside the sandbox; point the provider's baseURL at http://127.0.0.1:<port>/v1.",
    ),
    keyEnv: hostVar
      .optional()
      .describe(
        "NAME of the host variable holding the real API key (never the key itself). The gateway sends it as " +
          "`Authorization: Bearer`; inside the sandbox any variable with that value holds a placeholder instead. " +
          "Absent: the agent's own Authorization header passes.",
      ),
    network: gatewayNetwork,
  })
  .superRefine(gatewayNetworkProblems)
  .describe("One model gateway.");

const egress = z
  .strictObject({
    allow: z
      .array(withProblem(z.string(), allowEntryProblem).meta({ pattern: ALLOW_ENTRY_PATTERN }))
      .default([])
      .describe(
        "Hosts the sandbox may reach over HTTP/HTTPS through the egress proxy. A leading dot allows a domain and " +
          "all its subdomains (.github.com); no dot allows exactly that host (api.openai.com). Everything else is denied.",
      ),
    hostPorts: z
      .array(port)
      .default([])
      .describe(
        "TCP ports on the host that the sandbox may connect to (databases, dev servers, a local model server).",
      ),
    restricted: z
      .boolean()
      .optional()
      .describe(
        "Restricted mode: the proxy allows no host at all (egress.allow is ignored); only the model gateways and " +
          "egress.hostPorts are reachable. Default: false.",
      ),
    gateways: z
      .array(gateway)
      .optional()
      .describe(
        "Model gateways (OpenAI-compatible): each listens on 127.0.0.1:<port> inside the sandbox and forwards to its " +
          "upstream outside, adding the real API key from a host variable, so the agent only holds a placeholder.",
      ),
  })
  .superRefine((e, ctx) => {
    const taken = new Map<number, string>([
      [3128, "the egress proxy"],
      [4096, "the OpenCode server"],
    ]);
    for (const p of e.hostPorts) taken.set(p, `host port ${p} (egress.hostPorts)`);
    for (const [i, gw] of (e.gateways ?? []).entries()) {
      const prev = taken.get(gw.port);
      if (prev !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["gateways", i, "port"],
          message: `${gw.port} is already ${prev} inside the sandbox`,
          params: { fix: "choose another port for the gateway, e.g. 9101" },
        });
      }
      taken.set(gw.port, `the port of gateway ${i + 1}`);
    }
  })
  .prefault({})
  .describe("Network access out of the sandbox. Default: nothing.");

const ports = z
  .strictObject({
    server: port
      .optional()
      .describe(
        "Host port (on 127.0.0.1) for the OpenCode server and web UI. Default: a free port chosen at each start.",
      ),
  })
  .prefault({})
  .describe("Ports published on the host.");

const env = z
  .strictObject({
    passthroughPrefixes: z
      .array(withProblem(z.string(), envPrefixProblem).meta({ pattern: "^[A-Za-z_][A-Za-z0-9_]+$" }))
      .default([])
      .describe(
        "Extra name prefixes of host variables to pass into the sandbox, added to the defaults (OPENCODE_, OPENAI_, " +
          "ANTHROPIC_, GOOGLE_, GEMINI_, AZURE_, …) and to OCBOX_EXTRA_ENV_PREFIXES. Only set, non-empty variables pass.",
      ),
    map: z
      .record(containerVar, hostVar)
      .default({})
      .describe(
        "CONTAINER_VAR: HOST_VAR. Passes the host variable HOST_VAR into the sandbox as CONTAINER_VAR; use the same " +
          "name twice for a plain passthrough. Values are read at start and never written to a file.",
      ),
    set: z
      .record(
        containerVar,
        withProblem(z.union([z.string(), z.number(), z.boolean()]), (value) =>
          typeof value === "string" && looksLikeSecret(value)
            ? {
                problem: "looks like a secret, and ocbox.yaml is meant to be committed",
                fix: "export it on the host and pass it with env.map (CONTAINER_VAR: HOST_VAR)",
                secret: true,
              }
            : undefined,
        ),
      )
      .default({})
      .describe("Literal values (non-secret project context such as a repository name). No shell expansion."),
  })
  .prefault({})
  .describe(
    "Environment of the sandbox. Nothing from the host enters unless a rule here (or a default prefix) names it.",
  );

const image = z
  .strictObject({
    base: withProblem(z.string(), imageRefProblem)
      .optional()
      .describe(
        "Base image (Debian-based, with apt) to build the sandbox image on. Default: ocbox's own Debian base.",
      ),
    packages: z
      .array(
        withProblem(z.string(), debianPackageProblem).meta({
          pattern: "^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$",
        }),
      )
      .default([])
      .describe("Extra Debian packages installed into the sandbox image, e.g. [ripgrep, postgresql-client]."),
  })
  .prefault({})
  .describe("What goes into the sandbox image. A change here rebuilds the image at the next start.");

/** A size with a binary unit (2g, 500m), for the copy-back caps. */
const sizeField = (description: string) =>
  withProblem(z.union([z.string(), z.number()]), (value) => {
    if (typeof value === "number")
      return {
        problem: `${value} has no unit`,
        fix: `write a size with a unit, e.g. ${value}g or ${value}m`,
      };
    return parseMemory(value) === undefined || parseMemory(value) === 0
      ? { problem: `"${value}" is not a size`, fix: "write a number and a unit: 500m, 2g or 1t" }
      : undefined;
  })
    .meta({ type: "string", pattern: "^\\d+(\\.\\d+)?\\s*[kKmMgGtT]([iI]?[bB])?$" })
    .optional()
    .describe(description);

const copyBack = z
  .strictObject({
    maxFile: sizeField(
      "A file the agent wrote whose apparent size is over this is not copied back; the task ends OUTPUT_TOO_LARGE. Default: 2g.",
    ),
    maxTotal: sizeField(
      "The files one copy back writes (new or changed) may add up to this; the rest is left out and the task ends OUTPUT_TOO_LARGE. Default: 20g.",
    ),
  })
  .optional()
  .describe(
    "Caps on every copy of the agent's work back to the host (warm-pool sync back, eval outputs). Not applied to " +
      "the live bind mount of `ocbox up` or of a cold `ocbox run`, which is your own tree.",
  );

const limits = z
  .strictObject({
    memory: withProblem(z.union([z.string(), z.number()]), (value) => {
      if (typeof value === "number")
        return {
          problem: `${value} has no unit`,
          fix: `write a size with a unit, e.g. ${value}g or ${value}m`,
        };
      const bytes = parseMemory(value);
      if (bytes === undefined)
        return {
          problem: `"${value}" is not a memory size`,
          fix: "write a number and a unit: 512m, 4g or 1.5g",
        };
      return bytes < MIN_MEMORY_BYTES
        ? { problem: `"${value}" is below the minimum of 64m`, fix: "give the sandbox at least 512m" }
        : undefined;
    })
      // Editors see what ocbox accepts: a string with a unit (a bare number is refused with a hint).
      .meta({ type: "string", pattern: "^\\d+(\\.\\d+)?\\s*[kKmMgGtT]([iI]?[bB])?$" })
      .optional()
      .describe("Memory limit, e.g. 512m, 4g or 1.5g (binary units). Default: 4g."),
    cpus: z
      .number()
      .positive()
      .max(1024)
      .optional()
      .describe("CPU limit in CPUs, e.g. 2 or 0.5. Default: 2."),
    pids: z
      .number()
      .int()
      .min(32)
      .max(1_000_000)
      .optional()
      .describe("Maximum number of processes and threads. Default: 1024."),
    nofile: z
      .number()
      .int()
      .min(64)
      .max(1_048_576)
      .optional()
      .describe("Maximum open files per process. Default: 4096."),
    copyBack,
  })
  .prefault({})
  .describe("Resource limits of the agent container.");

const modelAlias = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "use letters, digits, . _ : or - (no slash)");

const modelEntry = z
  .strictObject({
    id: z.string().min(1).optional().describe("Model id sent to the server. Default: the alias."),
    name: z.string().min(1).optional().describe("Display name in OpenCode. Default: the alias."),
    context: z.number().int().positive().optional().describe("Context window in tokens."),
    output: z
      .number()
      .int()
      .positive()
      .optional()
      .describe("Maximum output tokens. Default: a quarter of context, at most 8192."),
  })
  .superRefine((entry, ctx) => {
    if (entry.output !== undefined && entry.context === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["output"],
        message: "is given without context",
        params: { fix: "add context: <tokens> too" },
      });
    }
    if (entry.output !== undefined && entry.context !== undefined && entry.output > entry.context) {
      ctx.addIssue({
        code: "custom",
        path: ["output"],
        message: "is larger than context",
        params: { fix: "make output smaller than context" },
      });
    }
  });

const model = z
  .strictObject({
    provider: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]*$/, "use lower-case letters, digits, _ or -")
      .default("local")
      .describe(
        "OpenCode provider id. With baseURL, ocbox defines this provider; without it, the id of a provider OpenCode knows.",
      ),
    baseURL: withProblem(z.string(), httpUrlProblem)
      .meta({ format: "uri" })
      .optional()
      .describe(
        "Base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 (/v1 is added when the path is empty). " +
          "127.0.0.1 inside the sandbox reaches the host ports listed in egress.hostPorts.",
      ),
    apiKeyEnv: hostVar
      .optional()
      .describe(
        "NAME of the host variable holding the API key (never the key itself). Default for a baseURL: a dummy key.",
      ),
    models: z
      .record(modelAlias, modelEntry)
      .default({})
      .describe("Model aliases on this provider, e.g. fast and thinking variants served by one server."),
    default: z.string().optional().describe("Alias of the main model. Default: the first alias."),
    small: z
      .string()
      .optional()
      .describe("Alias of the small model (titles, summaries). Default: the main model."),
  })
  .superRefine((m, ctx) => {
    const aliases = Object.keys(m.models);
    if (m.baseURL !== undefined && aliases.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["models"],
        message: "names no model for baseURL",
        params: { fix: "add at least one alias, e.g. models: { fast: { id: qwen3-8b, context: 32768 } }" },
      });
    }
    for (const key of ["default", "small"] as const) {
      const alias = m[key];
      if (alias === undefined || aliases.includes(alias)) continue;
      const fix = aliases.length
        ? `use one of the aliases under model.models: ${aliases.join(", ")}`
        : "define it under model.models first";
      ctx.addIssue({
        code: "custom",
        path: [key],
        message: `"${alias}" is not an alias under model.models`,
        params: { fix, candidates: aliases },
      });
    }
  })
  .optional()
  .describe(
    "Model and provider for OpenCode, for local OpenAI-compatible servers (llama.cpp, vLLM, Ollama).",
  );

const hook = z
  .strictObject({
    preStart: withProblem(z.string(), projectPathProblem)
      .default(DEFAULT_HOOK_PATH)
      .describe(
        "Script sourced on the host before each start (credential refresh); its exports are visible to env rules. " +
          "Relative to the project root. A changed script runs only after you approve it.",
      ),
  })
  .prefault({})
  .describe("Host-side hooks.");

export const projectConfigSchema = z
  .strictObject({
    $schema: z.string().optional().describe("JSON Schema for editors; ignored by ocbox."),
    name: withProblem(
      z
        .string()
        .regex(
          SANDBOX_NAME_PATTERN,
          "use 1-40 lower-case letters, digits or -, not starting or ending with -",
        ),
      workspaceNameProblem,
    )
      .optional()
      .describe(
        "Sandbox name; with a hash of the project path it forms the sandbox id, and `ocbox up` mounts the project " +
          "at /<name> inside. Not a system path (bin, etc, home, tmp, usr, var, workspace, …). Default: derived from the folder name.",
      ),
    egress,
    ports,
    env,
    image,
    limits,
    hardening: hardeningSchema,
    apt: aptSchema,
    model,
    hook,
    workspace: workspaceSchema,
    volumes: z
      .array(withProblem(z.string(), volumePathProblem))
      .superRefine((paths, ctx) => {
        for (const p of volumeListProblems(paths)) {
          ctx.addIssue({ code: "custom", path: [p.index], message: p.problem, params: { fix: p.fix } });
        }
      })
      .optional()
      .describe(
        "Performance volumes (E11): workspace dirs such as node_modules, target or .venv that a named Docker volume " +
          "shadows inside the sandbox, so installs and builds there skip the bind mount and persist between runs of " +
          "the project. Relative to the workspace. The host's own copy of the dir is not what the agent sees. " +
          "`ocbox clean --volumes` removes them.",
      ),
    ...workflowKeys,
    unsafe: z
      .strictObject({
        hostDockerSocket: z
          .boolean()
          .optional()
          .describe(
            "Mount the host's Docker socket at /var/run/docker.sock in the agent container. This gives the agent " +
              "control of the host (it can start a privileged container and bypass the egress proxy). Default: false.",
          ),
      })
      .optional()
      .describe(
        "Opt-ins that weaken the sandbox, each asked for by name; the startup summary warns about each.",
      ),
    autonomous: z
      .boolean()
      .default(false)
      .describe(
        "Approve every OpenCode permission inside the sandbox without asking. The hardening stays the same.",
      ),
    monitors: monitorsSchema,
  })
  .describe("ocbox project config (ocbox.yaml)");

/** The config as written (every key optional). */
export type ProjectConfigInput = z.input<typeof projectConfigSchema>;
/** The config with defaults applied. */
export type ProjectConfig = z.output<typeof projectConfigSchema>;
export type ModelConfig = NonNullable<ProjectConfig["model"]>;

/** The config of an empty file. */
export function defaultProjectConfig(): ProjectConfig {
  return projectConfigSchema.parse({});
}

/**
 * Old key names (the seed scripts' opencode-sandbox-config.yaml, and common slips), by dotted path,
 * with the ocbox key that replaced them. Used for "did you mean".
 */
export const RENAMED_KEYS: Readonly<Record<string, { to: string; note?: string }>> = {
  "sandbox-name": { to: "name" },
  "http-domain-whitelist": { to: "egress.allow" },
  "host-ports": { to: "egress.hostPorts" },
  "env-passthrough": { to: "env.map", note: "same CONTAINER_VAR: HOST_VAR entries" },
  "env.passthrough": { to: "env.map", note: "CONTAINER_VAR: HOST_VAR entries" },
  "env.prefixes": { to: "env.passthroughPrefixes" },
  "model.apiKey": {
    to: "model.apiKeyEnv",
    note: "the NAME of a host variable holding the key, never the key itself",
  },
  "model.small_model": { to: "model.small" },
};

/** Keys an older ocbox accepted and this one no longer has, by dotted path: why, and what to do. */
export const REMOVED_KEYS: Readonly<Record<string, { why: string; fix: string }>> = {
  "executor.warmPool": {
    why: "nothing ever read it",
    fix: "delete the line: `ocbox run` runs one task per process, which ready sandboxes cannot speed up, and `ocbox eval run` / `eval judge` keep one warm sandbox per worker on their own (`runEval({warmPoolSize})` sets the number)",
  },
};
