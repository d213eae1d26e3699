/**
 * The unattended permission policy (issue 17): what ocbox answers when OpenCode asks for a
 * permission in a task nobody watches. `reject` (the default) refuses every ask, `autonomous`
 * allows each one. Every answered ask is recorded in the result with the config line that asked.
 * Pure.
 */
import type { PermissionAsk, PermissionReply } from "../opencode/permissions.js";

export type PermissionPolicy = "reject" | "autonomous";
export const PERMISSION_POLICIES: readonly PermissionPolicy[] = ["reject", "autonomous"];

/** Where an ask comes from: the workspace config file and the 1-based line of its rule. */
export interface AskingLine {
  file: string;
  line: number;
  text: string;
}

/** One ask and what became of it, as TaskResult.permissionAsks lists it. */
export interface AnsweredAsk {
  /** The permission (tool) asked for: bash, edit, webfetch, external_directory, ... */
  permission: string;
  /** The patterns it asked about (the command, the path). */
  patterns: string[];
  /** `once` (allowed), `reject`, or `unanswered` when the reply could not be delivered. */
  answer: "once" | "reject" | "unanswered";
  /** The workspace config line that made OpenCode ask; null for OpenCode's own defaults. */
  configLine: AskingLine | null;
  /** Why the reply failed, for `unanswered`. */
  error?: string;
}

export interface ConfigText {
  /** The name shown to the user (`opencode.json`). */
  file: string;
  text: string;
}

export function replyFor(policy: PermissionPolicy): Extract<PermissionReply, "once" | "reject"> {
  return policy === "autonomous" ? "once" : "reject";
}

function lineAt(text: string, index: number): { line: number; text: string } {
  const before = text.slice(0, index);
  const line = before.split("\n").length;
  return { line, text: (text.split("\n")[line - 1] ?? "").trim() };
}

const quoted = (key: string) => new RegExp(`"${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}"\\s*:`, "g");

/**
 * The line of the `permission` rule that asks for `permission`: the permission's own key inside
 * the `permission` object, else its `"*"` key, else the `permission` key itself. A text scan, so
 * that the line number is the one the user sees in the file. Null when no file has a `permission`.
 */
export function askingLine(permission: string, files: readonly ConfigText[]): AskingLine | null {
  for (const { file, text } of files) {
    const head = quoted("permission").exec(text);
    if (!head) continue;
    const start = head.index + head[0].length;
    // The object's extent: to its matching brace, or the value alone when it is a string.
    const open = text.slice(start).search(/\S/) + start;
    let end = open + 1;
    if (text[open] === "{") {
      for (let depth = 0, i = open; i < text.length; i++) {
        if (text[i] === "{") depth++;
        if (text[i] === "}" && --depth === 0) {
          end = i;
          break;
        }
      }
    }
    const body = text.slice(open, end);
    for (const key of [permission, "*"]) {
      const hit = quoted(key).exec(body);
      if (hit) return { file, ...lineAt(text, open + hit.index) };
    }
    return { file, ...lineAt(text, head.index) };
  }
  return null;
}

export function answeredAsk(
  ask: PermissionAsk,
  answer: AnsweredAsk["answer"],
  files: readonly ConfigText[],
  error?: string,
): AnsweredAsk {
  return {
    permission: ask.permission,
    patterns: ask.patterns,
    answer,
    configLine: askingLine(ask.permission, files),
    ...(error ? { error } : {}),
  };
}
