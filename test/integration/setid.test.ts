/**
 * Host-boundary item 17: no setuid or setgid file in the sandbox or egress image, nor in what the
 * apt helper unpacks at run time. With `hardening.noNewPrivileges: false` the agent still gains no
 * privilege through a binary: the shadow-group and root binaries of the base (`chage`, `passwd`,
 * `su`, `newgrp`) run as the agent only, and a `sudo` it installs with `ocbox-apt` is not setuid.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureImages } from "../../src/image/build.js";
import { APT_PREFIX } from "../../src/image/dockerfile.js";
import {
  containersOf,
  engine,
  makeProject,
  removeHome,
  tempHome,
  type TestProject,
} from "../helpers/project.js";

const FIND_SETID = ["find", "/", "-xdev", "-perm", "/6000"];

/** `find / -xdev -perm /6000` as root in a throwaway container of the image: its output. */
async function setidFiles(image: string): Promise<string> {
  const id = await engine.createContainer({
    name: `ocbox-it-setid-${process.pid}-${Date.now()}`,
    image,
    labels: { "dev.ocbox.test": "setid" },
    env: {},
    user: "0:0",
    entrypoint: FIND_SETID,
    networkMode: "none",
    mounts: [],
    tmpfs: {},
    readOnlyRoot: true,
    capDrop: ["ALL"],
    capAdd: [],
    securityOpt: ["no-new-privileges:true"],
    limits: {},
    stopTimeout: 1,
    logMaxSize: "1m",
    logMaxFiles: 1,
  });
  try {
    await engine.startContainer(id);
    for (let i = 0; i < 100 && (await engine.containerState(id))?.running; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect((await engine.containerState(id))?.exitCode).toBe(0);
    return (await engine.logsTail(id, 1000)).trim();
  } finally {
    await engine.removeContainer(id);
  }
}

it("neither the sandbox image nor the egress image has a setuid or setgid file", async () => {
  const images = await ensureImages(engine);
  expect(await setidFiles(images.sandbox.tag)).toBe("");
  expect(await setidFiles(images.egress.tag)).toBe("");
});

/** As the agent, with new privileges allowed: every way to a higher uid or gid through a binary. */
const PROBE = [
  "grep '^NoNewPrivs:' /proc/self/status",
  `echo "setid=$(find / -xdev -perm /6000 2>/dev/null | tr '\\n' ' ')"`,
  // chage is setgid shadow in Debian: with the bit it reads /etc/shadow and exits 0.
  "chage -l agent >/dev/null 2>&1; echo chage=$?",
  // passwd is setuid root: with the bit, -S reads the shadow entry ("agent L ..."), without it
  // prints the passwd-only status ("agent P").
  'echo "passwd=$(passwd -S agent 2>&1 | cut -d" " -f2)"',
  'su root -c "id -u" </dev/null >/dev/null 2>&1; echo su=$?',
  "newgrp root </dev/null >/dev/null 2>&1; echo newgrp=$?",
  `ocbox-apt install sudo > /tmp/apt.log 2>&1; echo apt=$?`,
  `echo "aptsetid=$(find ${APT_PREFIX} -perm /6000 2>/dev/null | tr '\\n' ' ')"`,
  `echo "sudo=$(stat -c %a ${APT_PREFIX}/usr/bin/sudo 2>&1)"`,
  `${APT_PREFIX}/usr/bin/sudo -n id -u >/dev/null 2>&1; echo sudorun=$?`,
  "echo uid=$(id -u) euid=$(python3 -c 'import os; print(os.geteuid())')",
].join("; ");

let home: string;
const ids: string[] = [];
const projects: TestProject[] = [];

beforeAll(async () => {
  home = await tempHome();
});

afterAll(async () => {
  for (const p of projects) await p.run(["down"]);
  if (ids.length) expect(await containersOf(ids)).toEqual([]);
  if (home) await removeHome(home);
});

it("with hardening.noNewPrivileges false the agent gains no uid or gid through any binary", async () => {
  const p = await makeProject(home, "new-privileges");
  projects.push(p);
  expect((await p.run(["init", "--yes", "--json"])).code).toBe(0);
  await writeFile(
    join(p.root, "ocbox.yaml"),
    "hardening:\n  noNewPrivileges: false\napt:\n  allow: [sudo]\n",
  );
  ids.push(await p.sandboxId());
  const up = await p.run(["up", "--detach", "--approve-hook", "--json"]);
  expect(up.code, up.stderr).toBe(0);
  const r = await p.run(["exec", "--", "bash", "-c", PROBE]);
  expect(r.code, r.stderr).toBe(0);
  const field = (name: string) => new RegExp(`^${name}[=:][ \\t]*(.*)$`, "m").exec(r.stdout)?.[1]?.trim();
  // The weakening is really in force.
  expect(field("NoNewPrivs")).toBe("0");
  // Soft: a failing run names every way that worked.
  expect.soft(field("setid")).toBe("");
  expect.soft(field("chage")).not.toBe("0");
  expect.soft(field("passwd")).toBe("P");
  expect.soft(field("su")).not.toBe("0");
  expect.soft(field("newgrp")).not.toBe("0");
  // sudo came from the helper, unpacked without its setuid bit, and cannot run as root.
  expect(field("apt"), r.stdout).toBe("0");
  expect.soft(field("aptsetid")).toBe("");
  expect.soft(field("sudo")).toBe("755");
  expect.soft(field("sudorun")).not.toBe("0");
  const ids2 = /^uid=(\d+) euid=(\d+)$/m.exec(r.stdout);
  expect(ids2?.[1]).toBe(ids2?.[2]);
  expect(ids2?.[1]).not.toBe("0");
});
