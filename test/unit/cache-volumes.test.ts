import { describe, expect, it } from "vitest";
import { parseProjectConfig } from "../../src/config/parse.js";
import { normalizeVolumePath, volumeListProblems, volumePathProblem } from "../../src/config/volume-paths.js";
import { profileWarnings } from "../../src/plan/plan.js";
import { profileKey } from "../../src/executor/task-sandbox-spec.js";
import { LABEL } from "../../src/runtime/labels.js";
import {
  cacheIdentity,
  cacheMounts,
  cacheVolumeLabels,
  cacheVolumeName,
  cacheVolumes,
  isCacheVolume,
  ownerInitContainer,
} from "../../src/sandbox/cache-volumes.js";
import { TEST_PROFILE } from "../helpers/fixtures.js";

describe("volumes: paths", () => {
  it("accepts workspace-relative dirs and normalises them", () => {
    for (const p of ["node_modules", "target", ".venv", ".gradle", "packages/app/node_modules", "./dist/"]) {
      expect(volumePathProblem(p)).toBeUndefined();
    }
    expect(normalizeVolumePath("./node_modules/")).toBe("node_modules");
    expect(normalizeVolumePath("a//b/./c")).toBe("a/b/c");
  });

  it("refuses absolute paths, escapes, the workspace itself and odd names, each with a fix", () => {
    const cases: Array<[string, RegExp]> = [
      ["", /is empty/],
      ["/usr/lib", /not relative to the workspace/],
      ["~/.cache", /not relative to the workspace/],
      ["../other/node_modules", /leaves the workspace/],
      ["a/../../b", /leaves the workspace/],
      [".", /the workspace itself/],
      ["./", /the workspace itself/],
      ["a\\b", /backslash/],
      ["node modules", /unusual characters/],
      ["$HOME", /unusual characters/],
    ];
    for (const [path, problem] of cases) {
      const found = volumePathProblem(path);
      expect(found?.problem, path).toMatch(problem);
      expect(found?.fix, path).toBeTruthy();
    }
  });

  it("refuses duplicates and nested entries of a list", () => {
    expect(volumeListProblems(["node_modules", "target"])).toEqual([]);
    const twice = volumeListProblems(["node_modules", "./node_modules/"]);
    expect(twice.map((p) => p.index)).toEqual([1]);
    expect(twice[0]?.problem).toMatch(/listed twice/);
    const nested = volumeListProblems(["pkg", "pkg/node_modules"]);
    expect(nested.map((p) => p.index)).toEqual([1]);
    expect(nested[0]?.problem).toMatch(/nested/);
    // A shared prefix that is not a parent dir is fine.
    expect(volumeListProblems(["node_modules", "node_modules2"])).toEqual([]);
  });

  it("ocbox.yaml's volumes key is checked with the file's line", () => {
    expect(parseProjectConfig("volumes: [node_modules, target]\n", "ocbox.yaml").volumes).toEqual([
      "node_modules",
      "target",
    ]);
    expect(parseProjectConfig("", "ocbox.yaml").volumes).toBeUndefined();
    expect(() => parseProjectConfig("volumes:\n  - node_modules\n  - ../x\n", "ocbox.yaml")).toThrow(
      /ocbox.yaml:3.*leaves the workspace/s,
    );
    expect(() => parseProjectConfig("volumes: [/abs]\n", "ocbox.yaml")).toThrow(/not relative/);
    expect(() => parseProjectConfig("volumes: [a, a]\n", "ocbox.yaml")).toThrow(/listed twice/);
    expect(() => parseProjectConfig("volumes: node_modules\n", "ocbox.yaml")).toThrow(/volumes/);
  });
});

describe("volumes: names, labels, mounts", () => {
  it("names are readable, stable, per project and per dir", () => {
    expect(cacheVolumeName("app-1a2b3c4d", "node_modules")).toBe("ocbox-app-1a2b3c4d-cache-node_modules");
    expect(cacheVolumeName("app-1a2b3c4d", "./node_modules/")).toBe("ocbox-app-1a2b3c4d-cache-node_modules");
    expect(cacheVolumeName("app-1a2b3c4d", ".venv")).toMatch(/^ocbox-app-1a2b3c4d-cache-venv-[0-9a-f]{6}$/);
    // Dirs whose names had to change never collide.
    const ab = cacheVolumeName("p-1", "a/b");
    expect(ab).toMatch(/^ocbox-p-1-cache-a-b-[0-9a-f]{6}$/);
    expect(ab).not.toBe(cacheVolumeName("p-1", "a-b"));
    expect(cacheVolumeName("p-1", ".venv")).not.toBe(cacheVolumeName("p-1", "venv"));
    expect(cacheVolumeName("p-1", "target")).not.toBe(cacheVolumeName("p-2", "target"));
    for (const p of ["node_modules", ".venv", "a/b/c", "x@1.0+y"]) {
      expect(cacheVolumeName("p-1", p)).toMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/);
    }
  });

  it("a project root keeps its sandbox id (shared with ocbox up); another dir gets its own", () => {
    const project = { root: "/home/u/app", sandboxId: "myapp-00112233" };
    expect(cacheIdentity("/home/u/app", project)).toBe("myapp-00112233");
    const sub = cacheIdentity("/home/u/app/packages/web", project);
    expect(sub).toMatch(/^web-[0-9a-f]{8}$/);
    expect(cacheIdentity("/home/u/app/packages/web")).toBe(sub);
    expect(cacheIdentity("/tmp/a/web")).not.toBe(sub);
  });

  it("labels mark a cache (kept by the reaper) without an owner process", () => {
    const [v] = cacheVolumes("app-1", ["node_modules"]);
    const labels = cacheVolumeLabels(v!, "/w", { uid: 64000, gid: 64000 });
    expect(labels).toMatchObject({
      [LABEL.managed]: "true",
      [LABEL.kind]: "cache",
      [LABEL.sandbox]: "app-1",
      [LABEL.cachePath]: "node_modules",
      [LABEL.cacheOwner]: "64000:64000",
    });
    expect(labels[LABEL.ownerPid]).toBeUndefined();
    expect(labels[LABEL.run]).toBeUndefined();
    expect(isCacheVolume(labels)).toBe(true);
    expect(isCacheVolume({ [LABEL.managed]: "true" })).toBe(false);
  });

  it("mounts go under /workspace; the init container is a root chown with CAP_CHOWN only and no network", () => {
    const vols = cacheVolumes("app-1", ["node_modules", "pkg/target"]);
    expect(cacheMounts(vols)).toEqual([
      { type: "volume", source: "ocbox-app-1-cache-node_modules", target: "/workspace/node_modules" },
      { type: "volume", source: vols[1]!.name, target: "/workspace/pkg/target" },
    ]);
    const init = ownerInitContainer("img", vols[0]!, { uid: 1000, gid: 1001 }, {}, "n", false);
    expect(init).toMatchObject({
      user: "0:0",
      entrypoint: ["chown", "1000:1001", "/cache"],
      networkMode: "none",
      readOnlyRoot: true,
      capDrop: ["ALL"],
      capAdd: ["CHOWN"],
      securityOpt: ["no-new-privileges:true"],
      mounts: [{ type: "volume", source: vols[0]!.name, target: "/cache" }],
    });
    expect(ownerInitContainer("img", vols[0]!, { uid: 1, gid: 1 }, {}, "n", true).entrypoint).toEqual([
      "chown",
      "-R",
      "-h",
      "1:1",
      "/cache",
    ]);
  });
});

describe("executor profile: volumes and the Docker socket", () => {
  const base = TEST_PROFILE;

  it("both are part of the warm pool's key", () => {
    const key = profileKey(base);
    expect(profileKey({ ...base, hostDockerSocket: false })).toBe(key);
    expect(profileKey({ ...base, hostDockerSocket: true })).not.toBe(key);
    expect(profileKey({ ...base, cacheVolumes: { paths: ["node_modules"] } })).not.toBe(key);
  });

  it("the socket opt-in gives a WARNING line; none without it", () => {
    expect(profileWarnings(base)).toEqual([]);
    const [w, ...rest] = profileWarnings({ ...base, hostDockerSocket: true });
    expect(rest).toEqual([]);
    expect(w).toMatch(/^WARNING unsafe\.hostDockerSocket: .*controls the host's engine/);
  });
});
