/**
 * Copy mode's way in (workspace-copy-in.ts): the base it remembers names each path as the sync's
 * listing does. A dot-name keyed without its dot (`.env` as `env`, seen on `up --copy`) made every
 * dot-file look changed: the agent's delete of `.env` was never applied and a host edit of
 * `.gitignore` became a conflict.
 */
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { extract } from "tar-stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { copyWorkspaceIn, rel } from "../../src/sandbox/workspace-copy-in.js";

let ws: string;

beforeAll(async () => {
  ws = await mkdtemp(join(tmpdir(), "ocbox-copyin-"));
  await mkdir(join(ws, ".git/refs"), { recursive: true });
  await writeFile(join(ws, ".git/HEAD"), "ref: refs/heads/main\n");
  await writeFile(join(ws, ".env"), "A=1\n");
  await writeFile(join(ws, "env"), "not the dot one\n");
  await writeFile(join(ws, "..hidden"), "two dots\n");
  await mkdir(join(ws, "src"));
  await writeFile(join(ws, "src/.keep"), "");
  await symlink(".env", join(ws, ".envlink"));
});

afterAll(async () => {
  await rm(ws, { recursive: true, force: true });
});

it("keys dot-names with their dot, the way the listing names them", async () => {
  const names: string[] = [];
  const engine = {
    putArchive: async (_id: string, _dir: string, tar: Buffer | NodeJS.ReadableStream) => {
      const ex = extract();
      ex.on("entry", (h, body, next) => {
        names.push(h.name);
        body.on("end", next);
        body.resume();
      });
      await new Promise<void>((resolve, reject) => {
        ex.on("finish", resolve);
        ex.on("error", reject);
        (tar as NodeJS.ReadableStream).pipe(ex);
      });
    },
  };
  const report = await copyWorkspaceIn(engine, "c", "/workspace", ws, { uid: 1, gid: 1 }, () => false);
  expect([...report.base.keys()].sort()).toEqual(
    [".env", ".envlink", ".git", ".git/HEAD", ".git/refs", "..hidden", "env", "src", "src/.keep"].sort(),
  );
  expect(report.base.get(".env")).toMatchObject({ kind: "file", size: 4 });
  expect(report.base.get("env")).toMatchObject({ kind: "file", size: 16 });
  expect(report.base.get(".envlink")).toEqual({ kind: "link", target: ".env" });
  expect(names.length).toBeGreaterThan(0);
});

it("rel: the root and `./` go, a name's own dots stay", () => {
  expect(rel(".")).toBe("");
  expect(rel("./")).toBe("");
  expect(rel("./a/")).toBe("a");
  expect(rel(".env")).toBe(".env");
  expect(rel("./.git/HEAD")).toBe(".git/HEAD");
  expect(rel("..x")).toBe("..x");
});
