import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { deferRequire } from "../../src/runtime/deferred-require.js";

describe("deferred CommonJS modules (dockerode's BuildKit-only gRPC, issue 16)", () => {
  it("a deferred module runs on its first use, not when required, and then is the real one", () => {
    const dir = mkdtempSync(join(tmpdir(), "ocbox-defer-"));
    const g = globalThis as { ocboxDeferredLoads?: number };
    g.ocboxDeferredLoads = 0;
    writeFileSync(
      join(dir, "heavy.js"),
      "globalThis.ocboxDeferredLoads++; exports.Server = function Server() {}; exports.n = 42;",
    );
    writeFileSync(join(dir, "user.js"), "const heavy = require('./heavy.js'); exports.use = () => heavy.n;");
    const from = join(dir, "user.js");
    deferRequire(["./heavy.js"], from);
    const req = createRequire(from);
    const user = req("./user.js") as { use: () => number };
    expect(g.ocboxDeferredLoads).toBe(0);
    expect(user.use()).toBe(42);
    expect(g.ocboxDeferredLoads).toBe(1);
    const heavy = req("./heavy.js") as { Server: unknown; n: number };
    expect(typeof heavy.Server).toBe("function");
    expect(Object.keys(heavy)).toEqual(["Server", "n"]);
    expect(g.ocboxDeferredLoads).toBe(1);
  });
});
