/** Files into and out of containers through archives (decision 9), and the error for an engine that cannot see a path. */
import { Readable } from "node:stream";
import { extract, pack } from "tar-stream";
import { describe, expect, it } from "vitest";
import { engineError, missingBindSource } from "../../src/runtime/engine-errors.js";
import { packFiles, readOneFile } from "../../src/sandbox/archive-files.js";

async function entriesOf(tar: Buffer) {
  const x = extract();
  const out: Array<{ name: string; uid: number; mode: number; type: string; text: string }> = [];
  x.on("entry", (h, body, next) => {
    const chunks: Buffer[] = [];
    body.on("data", (c: unknown) => chunks.push(c as Buffer));
    body.on("end", () => {
      out.push({
        name: h.name,
        uid: h.uid ?? -1,
        mode: h.mode ?? -1,
        type: h.type ?? "",
        text: Buffer.concat(chunks).toString(),
      });
      next();
    });
  });
  const done = new Promise<void>((r) => x.on("finish", () => r()));
  Readable.from(tar).pipe(x);
  await done;
  return out;
}

function tarOf(add: (p: ReturnType<typeof pack>) => void): NodeJS.ReadableStream {
  const p = pack();
  add(p);
  p.finalize();
  return p as unknown as NodeJS.ReadableStream;
}

describe("packFiles", () => {
  it("gives each entry its owner and mode; dirs end in a slash", async () => {
    const tar = await packFiles(
      [
        { name: "local/" },
        { name: "pw", content: "secret", mode: 0o444, owner: { uid: 0, gid: 0 } },
        { name: "auth.json", content: "{}" },
      ],
      { uid: 1000, gid: 1000 },
    );
    expect((await entriesOf(tar)).map((e) => [e.name, e.type, e.uid, e.mode.toString(8), e.text])).toEqual([
      ["local/", "directory", 1000, "700", ""],
      ["pw", "file", 0, "444", "secret"],
      ["auth.json", "file", 1000, "600", "{}"],
    ]);
  });
});

describe("readOneFile", () => {
  it("takes the regular file of that name only", async () => {
    const got = await readOneFile(
      tarOf((p) => p.entry({ name: "access.log" }, "line\n")),
      "access.log",
      100,
    );
    expect(got).toEqual({ bytes: Buffer.from("line\n"), truncated: false });
    for (const add of [
      (p: ReturnType<typeof pack>) =>
        p.entry({ name: "access.log", type: "symlink", linkname: "/etc/shadow" }),
      (p: ReturnType<typeof pack>) => p.entry({ name: "access.log", type: "fifo" }),
      (p: ReturnType<typeof pack>) => p.entry({ name: "access.log/", type: "directory" }),
      (p: ReturnType<typeof pack>) => p.entry({ name: "other.log" }, "x"),
    ])
      expect((await readOneFile(tarOf(add), "access.log", 100)).bytes).toBeUndefined();
  });
  it("stops at the cap and says so", async () => {
    const big = "a".repeat(200_000);
    const got = await readOneFile(
      tarOf((p) => p.entry({ name: "access.log" }, big)),
      "access.log",
      1000,
    );
    expect(got.truncated).toBe(true);
    expect(got.bytes?.length).toBe(1000);
  });
});

describe("an engine that cannot see a host path", () => {
  it("is told as that, with where to look, never as memory or disk", () => {
    const e = Object.assign(
      new Error(
        '(HTTP code 400) unexpected - invalid mount config for type "bind": bind source path does not exist: /root/.local/state/ocbox/run/r-1-2-abc',
      ),
      { statusCode: 400 },
    );
    expect(missingBindSource(e)).toBe("/root/.local/state/ocbox/run/r-1-2-abc");
    const err = engineError("unix:///var/run/docker.sock", "create container", e, true);
    expect(err.message).toBe(
      "the engine at unix:///var/run/docker.sock cannot see /root/.local/state/ocbox/run/r-1-2-abc on this machine",
    );
    expect(err.fix).toMatch(/does not share this machine's files/);
    expect(err.fix).not.toMatch(/memory|disk/);
  });
});
