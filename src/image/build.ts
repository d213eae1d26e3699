import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { pack } from "tar-fs";
import { ERROR_PAGES } from "../egress/squid.js";
import { OcboxError, errorMessage } from "../errors.js";
import type { Engine } from "../runtime/engine.js";
import { LABEL } from "../runtime/labels.js";
import {
  baseCandidates,
  baseFallback,
  bootstrapProgressLine,
  DEFAULT_BASES,
  type DefaultBases,
} from "./base.js";
import { bootstrapBase, bootstrapHost } from "./bootstrap.js";
import {
  EGRESS_PACKAGES,
  SANDBOX_PACKAGES,
  egressDockerfile,
  sandboxDockerfile,
  type DockerfileInput,
} from "./dockerfile.js";
import { aptClientScript, aptHelperScript } from "./apt-scripts.js";
import {
  CONTEXT_RULES,
  leftOutOfImage,
  manifestEntryText,
  normaliseHeader,
  type ManifestText,
} from "./context-entries.js";
import { agentEntrypoint, egressEntrypoint } from "./entrypoints.js";
import { hostCaBundle } from "./host-ca.js";
import { imageTag, sha256, type ImageInputs } from "./inputs.js";
import { findOpencodeBinary } from "./opencode-binary.js";
import { opencodeConfigDigest, stageOpencodeConfig } from "./opencode-config.js";

export interface ImageOptions {
  /** Base image; default Debian slim, or the bootstrapped base where it cannot be pulled. */
  base?: string;
  /** Extra Debian packages for the sandbox image. */
  packages?: string[];
  /** Build even when an image with the same inputs exists. */
  rebuild?: boolean;
  onLine?: (line: string) => void;
  /** Lines always worth showing: a base bootstrap's progress (`onLine` gets them too). */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** The default base pulled and the tag a bootstrap makes instead (tests use throwaway tags). */
  defaultBases?: DefaultBases;
  /**
   * With no base here and no registry to pull from, bootstrap one from Debian's packages when this
   * host can (root with debootstrap). Default true; false: fail with the command to run.
   */
  autoBootstrap?: boolean;
}

export interface BuiltImage {
  kind: "sandbox" | "egress";
  tag: string;
  built: boolean;
  seconds: number;
}

export interface ImageSet {
  base: string;
  sandbox: BuiltImage;
  egress: BuiltImage;
  opencodeVersion: string;
}

/**
 * The base image to build on: the configured one, else the default (pulled when missing), else
 * the bootstrapped one, made here when no registry answers and this host can (see baseFallback).
 */
export async function resolveBase(
  engine: Engine,
  options: ImageOptions,
): Promise<{ ref: string; id: string }> {
  const present = await presentBase(engine, options);
  if (present) return present;
  const defaults = options.defaultBases ?? DEFAULT_BASES;
  const first = baseCandidates(options.base, defaults)[0] as string;
  options.onLine?.(`base image ${first} is not here; pulling it`);
  try {
    await engine.pullImage(first, options.onLine);
  } catch (e) {
    if (e instanceof OcboxError && e.code === "ENGINE_UNAVAILABLE") throw e;
    // The engine's own reason (DNS, connection, auth, not found) is in an ENGINE error's detail.
    const pullError = e instanceof OcboxError && e.detail ? `${e.message}: ${e.detail}` : errorMessage(e);
    const fallback = baseFallback({
      configured: options.base,
      pullError,
      host: await bootstrapHost(),
      defaults,
      ...(options.autoBootstrap === false ? { auto: false } : {}),
    });
    if (fallback.kind === "bootstrap")
      return bootstrapInstead(engine, options, first, pullError, fallback.tag);
    throw new OcboxError("IMAGE_MISSING", `base image ${first} is not on this engine and cannot be pulled`, {
      detail: pullError,
      fix: fallback.fix,
    });
  }
  const id = await engine.imageId(first);
  if (!id) throw new OcboxError("IMAGE_MISSING", `base image ${first} is still missing after the pull`);
  return { ref: first, id };
}

/** The first base candidate the engine has, asked without pulling; undefined when none is here. */
async function presentBase(
  engine: Engine,
  options: ImageOptions,
): Promise<{ ref: string; id: string } | undefined> {
  const candidates = baseCandidates(options.base, options.defaultBases ?? DEFAULT_BASES);
  // All asked at once (one round instead of one per candidate); the first present one wins.
  const ids = await Promise.all(candidates.map((ref) => engine.imageId(ref)));
  const found = candidates.findIndex((_, i) => ids[i] !== undefined);
  return found >= 0 ? { ref: candidates[found] as string, id: ids[found] as string } : undefined;
}

/** No registry, and this host can make the base itself: debootstrap it, showing its progress. */
async function bootstrapInstead(
  engine: Engine,
  options: ImageOptions,
  pulled: string,
  pullError: string,
  tag: string,
): Promise<{ ref: string; id: string }> {
  const progress = (line: string) => {
    options.onLine?.(line);
    const shown = bootstrapProgressLine(line);
    if (shown) options.onProgress?.(shown);
  };
  const say = (line: string) => {
    options.onLine?.(line);
    options.onProgress?.(line);
  };
  say(`cannot pull ${pulled}: no registry reachable (${pullError.split("\n")[0]})`);
  say(`making ${tag} from Debian's packages instead (ocbox image bootstrap; a minute or two)`);
  const result = await bootstrapBase(engine, {
    tag,
    onLine: progress,
    onStep: (step, seconds) => say(`${step} (${seconds.toFixed(1)} s)`),
  });
  const id = await engine.imageId(result.tag);
  if (!id) throw new OcboxError("BOOTSTRAP", `the bootstrapped base ${tag} is missing after its import`);
  return { ref: result.tag, id };
}

/** The sandbox image's own scripts, by their names in the build context (each an input of its tag). */
function sandboxScripts(): Record<string, string> {
  return {
    "agent-entrypoint.sh": agentEntrypoint,
    "ocbox-apt": aptClientScript,
    "ocbox-apt-helper": aptHelperScript,
  };
}

interface Plan {
  inputs: ImageInputs;
  tag: string;
  /** Context entries: name → text content, or a path on the host (linked, not copied). */
  context: Record<string, { text: string; mode?: number } | { path: string }>;
}

/**
 * The images' inputs and tags. "lookup" (presentImages): the base only if the engine has it,
 * nothing pulled or staged (the plans' contexts are then not for building).
 */
async function plan(
  engine: Engine,
  options: ImageOptions,
): Promise<{ base: string; plans: Plan[]; opencode: string }>;
async function plan(
  engine: Engine,
  options: ImageOptions,
  mode: "lookup",
): Promise<{ base: string; plans: Plan[]; opencode: string } | undefined>;
async function plan(
  engine: Engine,
  options: ImageOptions,
  mode: "build" | "lookup" = "build",
): Promise<{ base: string; plans: Plan[]; opencode: string } | undefined> {
  const lookup = mode === "lookup";
  const baseOf = lookup ? presentBase : resolveBase;
  const [info, base] = await Promise.all([engine.info(), baseOf(engine, options)]);
  if (!base) return undefined;
  const opencode = findOpencodeBinary(info.arch);
  // After the base (a pull or bootstrap of its own may run): a failure here leaves no child behind.
  const caPath = hostCaBundle(options.env);
  const [configDir, configDigest, ca] = await Promise.all([
    lookup ? "" : stageOpencodeConfig(options.onLine),
    opencodeConfigDigest(),
    caPath ? readFile(caPath) : undefined,
  ]);
  const dfInput = (packages: readonly string[]): DockerfileInput => ({
    base: base.ref,
    packages,
    hostCa: !!ca,
  });
  const caFiles: Plan["context"] = caPath ? { "host-ca.crt": { path: caPath } } : {};
  const caDigest: Record<string, string> = ca ? { "host-ca.crt": sha256(ca) } : {};

  const sandboxPackages = [...SANDBOX_PACKAGES, ...(options.packages ?? [])];
  const sandboxDf = sandboxDockerfile(dfInput(sandboxPackages));
  const sandboxInputs: ImageInputs = {
    kind: "sandbox",
    dockerfile: sandboxDf,
    baseId: base.id,
    files: {
      ...caDigest,
      opencode: `${opencode.packageName}@${opencode.version}`,
      "opencode-config": configDigest,
      "context-rules": CONTEXT_RULES,
      ...Object.fromEntries(Object.entries(sandboxScripts()).map(([name, text]) => [name, sha256(text)])),
    },
  };
  const errorPages = Object.keys(ERROR_PAGES).sort();
  const egressDf = egressDockerfile(dfInput(EGRESS_PACKAGES), errorPages);
  const egressInputs: ImageInputs = {
    kind: "egress",
    dockerfile: egressDf,
    baseId: base.id,
    files: {
      ...caDigest,
      "egress-entrypoint.sh": sha256(egressEntrypoint),
      "context-rules": CONTEXT_RULES,
      ...Object.fromEntries(errorPages.map((name) => [name, sha256(ERROR_PAGES[name] ?? "")])),
    },
  };
  return {
    base: base.ref,
    opencode: opencode.version,
    plans: [
      {
        inputs: sandboxInputs,
        tag: imageTag(sandboxInputs),
        context: {
          ...caFiles,
          Dockerfile: { text: sandboxDf },
          opencode: { path: opencode.path },
          "opencode-config": { path: configDir },
          ...Object.fromEntries(
            Object.entries(sandboxScripts()).map(([name, text]) => [name, { text, mode: 0o755 }]),
          ),
        },
      },
      {
        inputs: egressInputs,
        tag: imageTag(egressInputs),
        context: {
          ...caFiles,
          Dockerfile: { text: egressDf },
          "egress-entrypoint.sh": { text: egressEntrypoint, mode: 0o755 },
          ...Object.fromEntries(errorPages.map((name) => [name, { text: ERROR_PAGES[name] ?? "" }])),
        },
      },
    ],
  };
}

/**
 * Every package manifest in the context's node_modules trees (the staged OpenCode config), as
 * `<context-relative package dir>` → its entry fields, for `leftOutOfImage`.
 */
async function contextManifests(dir: string): Promise<Map<string, ManifestText>> {
  const out = new Map<string, ManifestText>();
  const visit = async (modules: string): Promise<void> => {
    const names = await readdir(modules).catch(() => [] as string[]);
    for (const name of names) {
      const pkgDirs = name.startsWith("@")
        ? (await readdir(join(modules, name)).catch(() => [] as string[])).map((n) => join(modules, name, n))
        : [join(modules, name)];
      for (const pkgDir of pkgDirs) {
        const text = await readFile(join(pkgDir, "package.json"), "utf8").catch(() => undefined);
        if (text === undefined) continue;
        const pkg = JSON.parse(text) as Record<string, unknown>;
        out.set(relative(dir, pkgDir).split(sep).join("/"), manifestEntryText(pkg));
        await visit(join(pkgDir, "node_modules"));
      }
    }
  };
  await visit(join(dir, "opencode-config", "node_modules"));
  return out;
}

async function buildOne(engine: Engine, p: Plan, options: ImageOptions): Promise<BuiltImage> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), `ocbox-build-${p.inputs.kind}-`));
  try {
    for (const [name, entry] of Object.entries(p.context)) {
      if ("text" in entry) await writeFile(join(dir, name), entry.text, { mode: entry.mode ?? 0o644 });
      else await symlink(entry.path, join(dir, name));
    }
    options.onLine?.(`building ${p.tag}`);
    const manifests = await contextManifests(dir);
    const stream = pack(dir, {
      dereference: true,
      map: normaliseHeader,
      ignore: (name) => leftOutOfImage(relative(dir, name).split(sep).join("/"), manifests),
    });
    await engine.buildImage(stream as unknown as NodeJS.ReadableStream, {
      tag: p.tag,
      labels: { [LABEL.managed]: "true", [LABEL.imageInputs]: p.tag.split(":")[1] ?? "" },
      ...(options.onLine ? { onLine: options.onLine } : {}),
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { kind: p.inputs.kind, tag: p.tag, built: true, seconds: (performance.now() - started) / 1000 };
}

/** The tags these inputs give and whether each image exists, without building (`ocbox check`). */
export async function imageStatus(
  engine: Engine,
  options: ImageOptions = {},
): Promise<Array<{ kind: "sandbox" | "egress"; tag: string; present: boolean }>> {
  const { plans } = await plan(engine, options);
  const out = [];
  for (const p of plans)
    out.push({ kind: p.inputs.kind, tag: p.tag, present: (await engine.imageId(p.tag)) !== undefined });
  return out;
}

/**
 * The images these inputs give, when the base and both images are on the engine already; asked
 * without pulling, bootstrapping or building anything, so it may run before a project's config is
 * approved (`up` asks it while the reaper runs). Undefined when anything is missing.
 */
export async function presentImages(
  engine: Engine,
  options: ImageOptions = {},
): Promise<ImageSet | undefined> {
  if (options.rebuild) return undefined;
  const planned = await plan(engine, options, "lookup");
  if (!planned) return undefined;
  const present = await Promise.all(planned.plans.map((p) => engine.imageId(p.tag)));
  if (present.some((id) => id === undefined)) return undefined;
  const [sandbox, egress] = planned.plans.map((p): BuiltImage => ({
    kind: p.inputs.kind,
    tag: p.tag,
    built: false,
    seconds: 0,
  })) as [BuiltImage, BuiltImage];
  return { base: planned.base, sandbox, egress, opencodeVersion: planned.opencode };
}

/** Make sure the sandbox and egress images for these inputs exist; build what is missing. */
export async function ensureImages(engine: Engine, options: ImageOptions = {}): Promise<ImageSet> {
  const { base, plans, opencode } = await plan(engine, options);
  const results: BuiltImage[] = [];
  // Both asked at once: one engine round, not one per image.
  const present = options.rebuild ? [] : await Promise.all(plans.map((p) => engine.imageId(p.tag)));
  for (const [i, p] of plans.entries()) {
    if (present[i]) {
      results.push({ kind: p.inputs.kind, tag: p.tag, built: false, seconds: 0 });
      continue;
    }
    results.push(await buildOne(engine, p, options));
  }
  const [sandbox, egress] = results as [BuiltImage, BuiltImage];
  return { base, sandbox, egress, opencodeVersion: opencode };
}
