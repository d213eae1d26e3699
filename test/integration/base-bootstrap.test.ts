/**
 * Issue 17, failure 6: with no base image here and no registry to pull one from, ocbox makes the
 * base itself from Debian's packages when this host can (root with debootstrap), with its
 * progress, instead of stopping at "cannot be pulled". Real engine, real pull, real debootstrap,
 * into a throwaway tag (the shared ocbox/debian-base:bookworm is never touched), removed at the end.
 */
import { randomBytes } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { bootstrapHost } from "../../src/image/bootstrap.js";
import { resolveBase } from "../../src/image/build.js";
import { DockerEngine } from "../../src/runtime/docker-engine.js";
import type { OcboxError } from "../../src/errors.js";

const engine = new DockerEngine();
const suffix = randomBytes(4).toString("hex");
// Not on this engine, and docker.io does not resolve here: the pull fails for want of a registry.
const pull = `ocbox-test/no-such-base:${suffix}`;
const bootstrap = `ocbox-test/bootstrap-base:${suffix}`;

afterAll(async () => {
  await engine.removeImage(bootstrap);
  expect(await engine.imageId(bootstrap)).toBeUndefined();
});

it("this machine is the case the test is about: root with debootstrap, no registry", async () => {
  expect(await bootstrapHost()).toEqual({ root: true, debootstrap: true });
  expect(await engine.imageId(pull)).toBeUndefined();
  const pulled = await engine.pullImage(pull).then(
    () => "pulled",
    (e: unknown) => `${String(e)} ${(e as OcboxError).detail ?? ""}`,
  );
  expect(pulled).toMatch(/dial tcp|no such host|lookup/);
});

it("with auto-bootstrap off, the error names the exact command", async () => {
  const error = await resolveBase(engine, { defaultBases: { pull, bootstrap }, autoBootstrap: false }).then(
    () => undefined,
    (e: unknown) => e as OcboxError,
  );
  expect(error?.code).toBe("IMAGE_MISSING");
  expect(error?.fix).toMatch(`No container registry is reachable`);
  expect(error?.fix).toMatch(`ocbox image bootstrap --tag ${bootstrap}`);
  expect(await engine.imageId(bootstrap)).toBeUndefined();
});

it("a failed pull for want of a registry bootstraps the base, with progress, and uses it", async () => {
  const progress: string[] = [];
  const base = await resolveBase(engine, {
    defaultBases: { pull, bootstrap },
    onProgress: (line) => progress.push(line),
  });
  expect(base.ref).toBe(bootstrap);
  expect(base.id).toBe(await engine.imageId(bootstrap));
  expect(progress[0]).toMatch(`cannot pull ${pull}: no registry reachable`);
  expect(progress.some((l) => /^I: Base system installed successfully/.test(l))).toBe(true);
  expect(progress.some((l) => /^import as /.test(l))).toBe(true);
  expect(progress.every((l) => !/^I: Retrieving [a-z0-9][a-z0-9+.-]* \d/.test(l))).toBe(true);
  // A second resolution finds it and starts nothing.
  const again: string[] = [];
  expect(
    await resolveBase(engine, { defaultBases: { pull, bootstrap }, onProgress: (l) => again.push(l) }),
  ).toEqual(base);
  expect(again).toEqual([]);
}, 600_000);
