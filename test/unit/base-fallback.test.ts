import { describe, expect, it } from "vitest";
import {
  BOOTSTRAP_BASE,
  baseFallback,
  bootstrapCommand,
  bootstrapProgressLine,
  isNoRegistry,
} from "../../src/image/base.js";

// Messages as the engines word them (Docker 20.10 here; Podman's shape for the same cause).
const DNS =
  'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host';
const PODMAN_DNS =
  'initializing source docker://debian:bookworm-slim: pinging container registry registry-1.docker.io: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: Temporary failure in name resolution';
const REFUSED_CONN =
  'Get "https://registry.local:5000/v2/": dial tcp 10.0.0.5:5000: connect: connection refused';
const TIMEOUT = 'Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout';
const AUTH =
  "pull access denied for private/base, repository does not exist or may require 'docker login': denied: requested access to the resource is denied";
const NOT_FOUND = "manifest for debian:no-such-tag not found: manifest unknown: manifest unknown";
const RATE = "toomanyrequests: You have reached your pull rate limit.";

const root = { root: true, debootstrap: true };

describe("isNoRegistry", () => {
  it("is true for DNS, connection and TLS-timeout failures", () => {
    for (const m of [DNS, PODMAN_DNS, REFUSED_CONN, TIMEOUT]) expect(isNoRegistry(m), m).toBe(true);
  });
  it("is false when a reachable registry refused: auth, not found, rate limit", () => {
    for (const m of [AUTH, NOT_FOUND, RATE, "something else broke"]) expect(isNoRegistry(m), m).toBe(false);
  });
});

describe("baseFallback", () => {
  it("bootstraps the default base when no registry answers and this host is root with debootstrap", () => {
    expect(baseFallback({ configured: undefined, pullError: DNS, host: root })).toEqual({
      kind: "bootstrap",
      tag: BOOTSTRAP_BASE,
    });
    const defaults = { pull: "x/none:1", bootstrap: "ocbox-test/base:t1" };
    expect(baseFallback({ configured: undefined, pullError: DNS, host: root, defaults })).toEqual({
      kind: "bootstrap",
      tag: "ocbox-test/base:t1",
    });
  });

  it("never replaces a configured base", () => {
    const r = baseFallback({ configured: "my/base:1", pullError: DNS, host: root });
    expect(r.kind).toBe("fail");
    expect(r.kind === "fail" && r.fix).toMatch(/Pull or build my\/base:1 first/);
  });

  it("does not bootstrap when a reachable registry refused the pull, and says why", () => {
    const r = baseFallback({ configured: undefined, pullError: AUTH, host: root });
    expect(r).toMatchObject({ kind: "fail" });
    expect(r.kind === "fail" && r.fix).toMatch(
      /registry answered but refused .*docker login.*ocbox image bootstrap/,
    );
  });

  it("prints the exact command when the host cannot bootstrap (not root, no debootstrap) or auto is off", () => {
    const fix = (host: { root: boolean; debootstrap: boolean }, auto?: boolean) => {
      const r = baseFallback({
        configured: undefined,
        pullError: DNS,
        host,
        ...(auto === false ? { auto } : {}),
      });
      return r.kind === "fail" ? r.fix : "bootstrapped";
    };
    expect(fix({ root: false, debootstrap: true })).toMatch(/: sudo ocbox image bootstrap$/);
    expect(fix({ root: false, debootstrap: false })).toMatch(
      /: sudo apt-get install -y debootstrap && sudo ocbox image bootstrap$/,
    );
    expect(fix({ root: true, debootstrap: false })).toMatch(
      /: apt-get install -y debootstrap && ocbox image bootstrap$/,
    );
    expect(fix(root, false)).toMatch(/No container registry is reachable.*: ocbox image bootstrap$/);
    expect(bootstrapCommand({ root: false, debootstrap: true }, "t/x:1")).toBe(
      "sudo ocbox image bootstrap --tag t/x:1",
    );
  });
});

describe("bootstrapProgressLine", () => {
  it("keeps debootstrap's phases and drops its per-package lines", () => {
    expect(bootstrapProgressLine("I: Retrieving InRelease ")).toBe("I: Retrieving InRelease");
    expect(bootstrapProgressLine("I: Resolving dependencies of required packages...")).toBeDefined();
    expect(bootstrapProgressLine("I: Unpacking required packages...")).toBeDefined();
    expect(bootstrapProgressLine("I: Base system installed successfully.")).toBeDefined();
    expect(bootstrapProgressLine("W: Cannot check Release signature")).toBeDefined();
    expect(bootstrapProgressLine("I: Retrieving libc6 2.36-9+deb12u4")).toBeUndefined();
    expect(bootstrapProgressLine("I: Validating adduser 3.134")).toBeUndefined();
    expect(bootstrapProgressLine("I: Unpacking libc-bin...")).toBeUndefined();
    expect(bootstrapProgressLine("I: Configuring g++-12...")).toBeUndefined();
    expect(bootstrapProgressLine("dpkg: warning: something")).toBeUndefined();
  });
});
