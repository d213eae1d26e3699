/**
 * The `ocbox` bundle's code cache (cli/compile-cache.ts) as a user's commands meet it: the first
 * command writes it, the next ones take it unchanged (V8 accepted it: nothing is written again), a
 * damaged file is replaced, and a cache dir others could write is not used, while the command
 * works the same in every case.
 */
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { ocbox } from "../helpers/cli.js";

const home = mkdtempSync(join(tmpdir(), "ocbox-compile-cache-"));
const env = { XDG_CACHE_HOME: join(home, "cache"), XDG_STATE_HOME: join(home, "state") };
const dir = join(home, "cache", "ocbox", "v8");
afterAll(() => rmSync(home, { recursive: true, force: true }));

const snapshot = () =>
  new Map(
    readdirSync(dir).map((f) => [
      f,
      { mtimeMs: statSync(join(dir, f)).mtimeMs, bytes: readFileSync(join(dir, f)) },
    ]),
  );

it("a command writes the cache once, the next ones take it as it is, a damaged file is replaced", async () => {
  const first = await ocbox(["ls"], { env });
  expect(first.code, first.stderr).toBe(0);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  const written = snapshot();
  expect(written.size).toBeGreaterThan(5);
  for (const f of written.keys()) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);

  const second = await ocbox(["ls"], { env });
  expect(second.code, second.stderr).toBe(0);
  expect(second.stdout).toBe(first.stdout);
  // Taken, not rejected: a rejected cache is written again at exit.
  const again = snapshot();
  expect([...again.keys()].sort()).toEqual([...written.keys()].sort());
  for (const [f, { mtimeMs }] of again) expect(mtimeMs, f).toBe(written.get(f)?.mtimeMs);

  // The largest file damaged in place (same length): V8 refuses it, the command runs, the file is replaced.
  const [big] = [...written].sort((a, b) => b[1].bytes.length - a[1].bytes.length)[0] ?? [];
  if (big === undefined) throw new Error("no cache file");
  writeFileSync(join(dir, big), Buffer.alloc(written.get(big)?.bytes.length ?? 0, 0x41));
  const third = await ocbox(["ls"], { env });
  expect(third.code, third.stderr).toBe(0);
  expect(third.stdout).toBe(first.stdout);
  expect(readFileSync(join(dir, big)).equals(Buffer.alloc(written.get(big)?.bytes.length ?? 0, 0x41))).toBe(
    false,
  );
});

it("a cache dir that others can write is not used, and the command works as before", async () => {
  rmSync(dir, { recursive: true, force: true });
  const first = await ocbox(["ls"], { env });
  expect(first.code).toBe(0);
  for (const f of readdirSync(dir)) rmSync(join(dir, f));
  chmodSync(dir, 0o777);
  const open = await ocbox(["ls"], { env });
  expect(open.code, open.stderr).toBe(0);
  expect(open.stdout).toBe(first.stdout);
  expect(readdirSync(dir)).toEqual([]);
});
