/**
 * ocbox.yaml `workspace`: how the project's files reach the sandbox (issue 14 items 1 and 2). Pure.
 *
 * - `mode: auto` (the default) bind-mounts the workspace when the engine can see it (a probe
 *   container checks, cached per engine and path prefix) and copies it in otherwise; `copy`
 *   always copies it in through the engine API and syncs the agent's work back; `bind` always
 *   mounts it (and fails on an engine that cannot see it).
 * - `exclude`: .gitignore-style patterns left out of the copy in copy mode, both ways (not copied
 *   in, never synced back).
 */
import { z } from "zod";

/** Copy mode's default excludes: rebuilt in the sandbox, large, and platform-specific. */
export const DEFAULT_COPY_EXCLUDES: readonly string[] = ["node_modules/"];

export const workspaceSchema = z
  .strictObject({
    mode: z
      .enum(["auto", "bind", "copy"])
      .default("auto")
      .describe(
        "How the workspace reaches the sandbox. auto: bind-mounted when the engine can see it (probed once per " +
          "engine and path prefix), else copied in through the engine API; copy: always copied in, the agent's " +
          "work synced back (`ocbox run`/`eval` at the end, `ocbox up` by `ocbox sync` and `down`); bind: always " +
          "mounted. `--copy` forces copy for one command. Default: auto.",
      ),
    exclude: z
      .array(z.string().min(1))
      .optional()
      .describe(
        ".gitignore-style patterns (relative to the workspace) that copy mode leaves out both ways: not copied " +
          "in, never synced back. Default: [node_modules/].",
      ),
  })
  .default({ mode: "auto" })
  .describe("How the workspace reaches the sandbox: bind mount or copy (issue 14).");

export type WorkspaceConfig = z.output<typeof workspaceSchema>;
