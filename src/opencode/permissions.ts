/**
 * OpenCode's permission asks: the `permission.asked` event, the pending list
 * (`GET /permission`) and the reply (`POST /permission/{id}/reply`). An ask nobody answers
 * stalls its session for good, so an unattended caller answers every one (OPENCODE-NOTES).
 */
import type { OpencodeClient } from "@opencode-ai/sdk/v2";
import { z } from "zod";
import { OcboxError, errorMessage } from "../errors.js";

export const permissionAskSchema = z.object({
  id: z.string().min(1),
  sessionID: z.string().min(1),
  permission: z.string(),
  patterns: z.array(z.string()).default([]),
});
export type PermissionAsk = z.infer<typeof permissionAskSchema>;
export type PermissionReply = "once" | "always" | "reject";

/** No reply or listing may hang a task: the server is local, 10 s is generous. */
const REQUEST_MS = 10_000;

/** The ask in a `permission.asked` event's properties, or undefined when they are not one. Pure. */
export function askFromEvent(properties: unknown): PermissionAsk | undefined {
  const parsed = permissionAskSchema.safeParse(properties);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The server's asks still waiting for a reply (after a reconnect: the stream may have lost some),
 * of every session on it: a sandbox serves one task, whose sub-agents have sessions of their own.
 */
export async function pendingAsks(client: OpencodeClient): Promise<PermissionAsk[]> {
  const listed = await client.permission
    .list({}, { signal: AbortSignal.timeout(REQUEST_MS) })
    .catch((e: unknown) => {
      throw new OcboxError("OPENCODE", `listing the pending permission asks failed: ${errorMessage(e)}`);
    });
  if (!Array.isArray(listed.data))
    throw new OcboxError(
      "OPENCODE",
      `the OpenCode server did not list its permission asks (HTTP ${listed.response.status})`,
    );
  return listed.data.flatMap((a: unknown) => {
    const ask = askFromEvent(a);
    return ask ? [ask] : [];
  });
}

export async function replyAsk(client: OpencodeClient, id: string, reply: PermissionReply): Promise<void> {
  const answered = await client.permission
    .reply({ requestID: id, reply }, { signal: AbortSignal.timeout(REQUEST_MS) })
    .catch((e: unknown) => {
      throw new OcboxError("OPENCODE", `the reply to permission ask ${id} failed: ${errorMessage(e)}`);
    });
  if (answered.error !== undefined || !answered.response.ok)
    throw new OcboxError(
      "OPENCODE",
      `the OpenCode server refused the reply to permission ask ${id} (HTTP ${answered.response.status})`,
      { detail: JSON.stringify(answered.error ?? {}).slice(0, 500) },
    );
}
