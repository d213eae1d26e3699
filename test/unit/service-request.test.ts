/**
 * `ocbox serve`'s request validation (each bad field named), the options it turns into (paths at
 * the client's cwd, the client's environment and never the service's), the task store (a crashing
 * runner ends its task, events replay), the warm budget and the committed OpenAPI document.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OcboxError } from "../../src/errors.js";
import type { TaskResult } from "../../src/executor/task.js";
import { OPENAPI_FILE, openapiDocument, openapiText } from "../../src/service/openapi.js";
import { parseTaskRequest, taskOptionsFromRequest } from "../../src/service/task-request.js";
import { TaskStore, type StoredEvent } from "../../src/service/task-store.js";
import { budgetLines, warmRefusal } from "../../src/service/warm-budget.js";

const ok = { cwd: "/home/u/proj", workspace: "ws", prompt: "do it" };

function usageError(body: unknown): string {
  try {
    parseTaskRequest(body);
  } catch (e) {
    expect(e).toBeInstanceOf(OcboxError);
    expect((e as OcboxError).code).toBe("USAGE");
    return (e as OcboxError).message;
  }
  throw new Error("no error");
}

describe("task request validation", () => {
  it("names each bad field", () => {
    expect(usageError({ ...ok, cwd: "rel" })).toMatch(/cwd: must be an absolute path/);
    expect(usageError({ ...ok, timeout: -1 })).toMatch(/timeout: .*>0/);
    expect(usageError({ ...ok, permissions: "yes" })).toMatch(/permissions: /);
    expect(usageError({ ...ok, retries: 1.5 })).toMatch(/retries: /);
    expect(usageError({ ...ok, model: "nomodel" })).toMatch(/model: must be provider\/model/);
    expect(usageError({ ...ok, taskId: "../x" })).toMatch(/taskId: /);
    expect(usageError({ ...ok, env: { A: 1 } })).toMatch(/env\.A: /);
    expect(usageError({ ...ok, hostDockerSocket: true })).toMatch(/hostDockerSocket/);
    expect(usageError({ cwd: "/", workspace: "w" })).toMatch(
      /prompt: give exactly one of prompt and promptFile/,
    );
    expect(usageError({ ...ok, promptFile: "p.md" })).toMatch(/give exactly one/);
    expect(usageError("text")).toMatch(/bad task request/);
  });

  it("resolves paths at the client's cwd and carries only the client's environment", () => {
    process.env["OCBOX_SERVICE_OWN_SECRET"] = "service-side";
    const options = taskOptionsFromRequest(
      parseTaskRequest({
        ...ok,
        workflow: "../wf.yaml",
        inactivity: 0,
        timeout: 30,
        approveConfig: true,
        env: { ANTHROPIC_API_KEY: "client-side" },
      }),
    );
    expect(options).toMatchObject({
      entry: "service",
      workspace: "/home/u/proj/ws",
      workflowFile: "/home/u/wf.yaml",
      approveConfig: true,
      timeouts: { hardS: 30, inactivityS: null },
      hostEnv: { ANTHROPIC_API_KEY: "client-side" },
    });
    expect(options.hostEnv).not.toHaveProperty("OCBOX_SERVICE_OWN_SECRET");
    expect(taskOptionsFromRequest(parseTaskRequest(ok)).hostEnv).toEqual({});
    delete process.env["OCBOX_SERVICE_OWN_SECRET"];
  });
});

const result = { outcome: "COMPLETE", failureReason: null } as TaskResult;

describe("task store", () => {
  it("a runner that throws ends its task as failed, with the error's exit code; the store goes on", async () => {
    const store = new TaskStore();
    const bad = store.start("x", () => {
      throw new OcboxError("CONFIG", "bad role", { fix: "fix it" });
    });
    const crash = store.start("y", () => Promise.reject(new TypeError("boom")));
    const good = store.start("z", (_s, emit) => {
      emit({ phase: "queued", message: "q" });
      return Promise.resolve(result);
    });
    expect((await store.wait(bad.id))?.error).toEqual({ code: "CONFIG", message: "bad role", fix: "fix it" });
    expect(bad.exitCode).toBe(2);
    expect((await store.wait(crash.id))?.status).toBe("failed");
    expect(crash.exitCode).toBe(1);
    expect((await store.wait(good.id))?.status).toBe("done");
    expect(good.exitCode).toBe(0);
    const seen: StoredEvent[] = [];
    store.follow(good.id, (e) => seen.push(e));
    expect(seen.map((e) => e.type)).toEqual(["event", "end"]);
  });

  it("abort ends a running task as aborted (exit 130)", async () => {
    const store = new TaskStore();
    const t = store.start(
      "w",
      (signal) =>
        new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("stopped")))),
    );
    const live: string[] = [];
    store.follow(t.id, (e) => live.push(e.type));
    expect((await store.abort(t.id))?.status).toBe("aborted");
    expect(t.exitCode).toBe(130);
    expect(live).toEqual(["end"]);
  });
});

describe("the warm budget", () => {
  const GiB = 1024 ** 3;
  const MiB = 1024 ** 2;
  const budget = { perProfile: 2, memoryBudgetBytes: 10 * GiB, diskBudgetBytes: 200 * MiB };
  const cost = { memoryBytes: 4 * GiB, diskBytes: 64 * MiB };
  const none = { sandboxes: 0, memoryBytes: 0, diskBytes: 0 };

  it("a start that fits the profile's count, the memory and the disk budget may go", () => {
    expect(warmRefusal(budget, none, 0, cost)).toBeUndefined();
    expect(
      warmRefusal(budget, { sandboxes: 1, memoryBytes: 4 * GiB, diskBytes: 64 * MiB }, 1, cost),
    ).toBeUndefined();
  });

  it("one that would pass a budget is refused, saying which and by how much", () => {
    expect(warmRefusal(budget, { sandboxes: 2, memoryBytes: 8 * GiB, diskBytes: 128 * MiB }, 0, cost)).toBe(
      "memory: 8.0 GiB in use + 4.0 GiB would pass the budget of 10.0 GiB",
    );
    expect(
      warmRefusal({ ...budget, diskBudgetBytes: 100 * MiB }, { ...none, diskBytes: 64 * MiB }, 0, cost),
    ).toBe("disk: 64 MiB in use + 64 MiB would pass the budget of 100 MiB");
    expect(warmRefusal(budget, none, 2, cost)).toBe("2 of 2 per profile already warm or starting");
    expect(warmRefusal({ ...budget, perProfile: 0 }, none, 0, cost)).toMatch(/0 of 0 per profile/);
    // Exactly at the budget fits.
    expect(warmRefusal({ ...budget, memoryBudgetBytes: 4 * GiB }, none, 0, cost)).toBeUndefined();
  });

  it("status states the budget and its use", () => {
    expect(budgetLines(budget, { sandboxes: 1, memoryBytes: 4 * GiB, diskBytes: 64 * MiB }, 1, 1)).toEqual([
      "warm sandboxes: 1 ready (1 ready or starting), up to 2 per profile, 1 profile(s)",
      "  memory  4.0 GiB of 10.0 GiB (each at its memory limit)",
      "  disk    64 MiB of 200 MiB (each at 64 MiB)",
    ]);
  });
});

describe("schema/serve.openapi.json", () => {
  const committed = join(import.meta.dirname, "..", "..", OPENAPI_FILE);
  // `OCBOX_WRITE_SCHEMA=1 npx vitest run --project unit test/unit/service-request.test.ts` refreshes it.
  if (process.env["OCBOX_WRITE_SCHEMA"] === "1") writeFileSync(committed, openapiText());

  it("is the document generated from the zod schemas (no drift)", () => {
    expect(existsSync(committed)).toBe(true);
    expect(readFileSync(committed, "utf8")).toBe(openapiText());
  });

  it("documents every request field", () => {
    const doc = openapiDocument() as {
      components: { schemas: { TaskRequest: { properties: Record<string, unknown>; required: string[] } } };
    };
    expect(Object.keys(doc.components.schemas.TaskRequest.properties)).toContain("approveConfig");
    expect(doc.components.schemas.TaskRequest.required).toEqual(["cwd", "workspace"]);
  });
});

describe("the service's HTTP front", () => {
  it("refuses a missing or wrong token, a foreign Host, a browser Origin and another version", async () => {
    const { startServiceHttp } = await import("../../src/service/http.js");
    const store = new TaskStore();
    const http = await startServiceHttp(
      {
        store,
        submit: () => Promise.resolve("t-x"),
        status: () => ({ ok: true }),
        shutdown: () => undefined,
      },
      { token: "s3cret" },
    );
    const get = async (headers: Record<string, string>) => {
      const { request } = await import("node:http");
      return new Promise<number>((resolve, reject) => {
        request(`${http.url}/v1/status`, { headers }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
          .on("error", reject)
          .end();
      });
    };
    try {
      expect(await get({})).toBe(401);
      expect(await get({ authorization: "Bearer wrong1" })).toBe(401);
      expect(await get({ authorization: "Bearer s3cret", host: "evil.example" })).toBe(421);
      expect(await get({ authorization: "Bearer s3cret", origin: "http://evil.example" })).toBe(403);
      expect(await get({ authorization: "Bearer s3cret", "x-ocbox-version": "0.0.0-other" })).toBe(409);
      expect(await get({ authorization: "Bearer s3cret" })).toBe(200);
    } finally {
      await http.close();
    }
  });
});
