/**
 * `ocbox init` (FEATURES A1): in the project root, create ocbox.yaml, an OpenCode config and an
 * empty pre-start hook, asking before each step and skipping what exists; add the hook to
 * .gitignore. What init creates is approved for the first `ocbox up`, because the person made it.
 */
import { access, chmod, mkdir, readFile, realpath, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { OcboxError } from "../errors.js";
import { findProjectRoot } from "../config/load.js";
import { OPENCODE_CONFIG_FILES } from "../config/opencode-json.js";
import { DEFAULT_HOOK_PATH, PROJECT_CONFIG_FILE } from "../config/project-schema.js";
import { sandboxIdFor, sandboxNameFromFolder } from "../config/sandbox-id.js";
import type { ApprovalFileKind } from "../plan/approval-files.js";
import type { FileVerdict } from "../plan/approval-state.js";
import { recordApprovals, sha256 } from "../executor/approval-records.js";
import { addGitignoreEntries } from "./gitignore.js";
import { offerEgress, type EgressStep } from "./init-egress.js";
import { HOOK_TEMPLATE, OPENCODE_JSONC_TEMPLATE, ocboxYamlTemplate } from "./init-templates.js";
import { stateLayout } from "../util/state-layout.js";

export type InitStepName = "config" | "opencode" | "hook" | "gitignore";

export interface InitStep {
  name: InitStepName;
  file: string;
  status: "created" | "updated" | "exists" | "declined";
}

export interface InitOptions {
  cwd: string;
  /** Asks before each step; absent with --yes (every step done). */
  ask?: (question: string) => Promise<boolean>;
  /** Asks before allowing a model host (default no); absent with --yes or no terminal: never widens. */
  askEgress?: (question: string) => Promise<boolean>;
  env?: NodeJS.ProcessEnv;
}

export interface InitReport {
  root: string;
  sandboxId: string;
  steps: InitStep[];
  /** Model API hosts egress would deny: what was added, and the lines to add for the rest. */
  egress: { steps: EgressStep[]; notes: string[] };
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

export async function initProject(options: InitOptions): Promise<InitReport> {
  const root = await realpath(resolve(options.cwd));
  const above = await findProjectRoot(dirname(root));
  if (above !== undefined && !(await exists(join(root, PROJECT_CONFIG_FILE)))) {
    throw new OcboxError("USAGE", `${root} is inside the project at ${above}`, {
      fix: `run \`ocbox init\` in ${above}, or remove ${join(above, PROJECT_CONFIG_FILE)} first`,
    });
  }
  const name = sandboxNameFromFolder(basename(root));
  const steps: InitStep[] = [];
  const ask = async (q: string) => (options.ask ? options.ask(q) : true);

  const step = async (name: InitStepName, file: string, question: string, write: () => Promise<void>) => {
    if (await exists(file)) return steps.push({ name, file, status: "exists" });
    if (!(await ask(question))) return steps.push({ name, file, status: "declined" });
    await write();
    return steps.push({ name, file, status: "created" });
  };

  const configFile = join(root, PROJECT_CONFIG_FILE);
  await step("config", configFile, `Create ${PROJECT_CONFIG_FILE} (sandbox name "${name}")?`, () =>
    writeFile(configFile, ocboxYamlTemplate(name)),
  );
  const existingOpencode = await Promise.all(OPENCODE_CONFIG_FILES.map((f) => exists(join(root, f))));
  const opencodeFile = join(root, OPENCODE_CONFIG_FILES[existingOpencode[0] ? 0 : 1]);
  await step("opencode", opencodeFile, "Create opencode.jsonc (model and permissions)?", () =>
    writeFile(opencodeFile, OPENCODE_JSONC_TEMPLATE),
  );
  const hookFile = join(root, DEFAULT_HOOK_PATH);
  await step("hook", hookFile, `Create an empty pre-start hook ${DEFAULT_HOOK_PATH}?`, async () => {
    await mkdir(dirname(hookFile), { recursive: true });
    await writeFile(hookFile, HOOK_TEMPLATE);
    await chmod(hookFile, 0o755);
  });

  const gitignore = join(root, ".gitignore");
  const before = await readFile(gitignore, "utf8").catch(() => "");
  // The hook is personal and may hold secrets; ocbox writes nothing else into the project.
  const after = addGitignoreEntries(before, [`/${DEFAULT_HOOK_PATH}`]);
  if (after === before) steps.push({ name: "gitignore", file: gitignore, status: "exists" });
  else if (!(await ask(`Add /${DEFAULT_HOOK_PATH} to .gitignore?`)))
    steps.push({ name: "gitignore", file: gitignore, status: "declined" });
  else {
    await writeFile(gitignore, after);
    steps.push({ name: "gitignore", file: gitignore, status: before === "" ? "created" : "updated" });
  }

  const env = options.env ?? process.env;
  const egress = await egressStep(root, steps, options.askEgress, env);
  const sandboxId = sandboxIdFor(name, root);
  await approveWhatInitMade(steps, sandboxId, root, env);
  return { root, sandboxId, steps, egress };
}

/** The egress offer, for an ocbox.yaml that init wrote or found (a broken one it found: a note). */
async function egressStep(
  root: string,
  steps: readonly InitStep[],
  ask: InitOptions["askEgress"],
  env: NodeJS.ProcessEnv,
): Promise<InitReport["egress"]> {
  const config = steps.find((s) => s.name === "config");
  if (!config || config.status === "declined") return { steps: [], notes: [] };
  const fresh = config.status === "created";
  try {
    return await offerEgress(root, { ask, fresh, env });
  } catch (e) {
    if (fresh || !(e instanceof OcboxError && e.code === "CONFIG")) throw e;
    return { steps: [], notes: [`model hosts not checked: ${e.message}`] };
  }
}

/** Record approval for the files init itself wrote, never for ones that were already there. */
async function approveWhatInitMade(
  steps: readonly InitStep[],
  sandboxId: string,
  root: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const made = steps.filter((s) => s.status === "created" && s.name !== "gitignore");
  if (made.length === 0) return;
  const kinds: Record<string, ApprovalFileKind> = {
    config: "ocbox-yaml",
    opencode: "opencode-json",
    hook: "hook",
  };
  const texts = new Map<string, string>();
  const verdicts: FileVerdict[] = [];
  for (const step of made) {
    const text = await readFile(step.file, "utf8");
    const hash = sha256(text);
    texts.set(hash, text);
    const kind = kinds[step.name] ?? "ocbox-yaml";
    verdicts.push({ kind, path: relative(root, step.file), sha256: hash, status: "approved", weakening: [] });
  }
  await recordApprovals(stateLayout(sandboxId, env).approved, verdicts, texts);
}
