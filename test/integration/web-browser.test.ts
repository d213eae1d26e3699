/**
 * The web login as `ocbox web --print` offers it, in Debian's Chromium driven by playwright-core:
 * without the one-time link the page refuses; with it, OpenCode's UI loads and a session can be
 * created; the link works once. Then the attacks of host-boundary item 7, played by a foreign page
 * on another 127.0.0.1 port (same-site for the browser): its cookies must not cross the front, the
 * server's Set-Cookie must not come back, and its cross-origin POST and websocket are refused.
 */
import { mkdir } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { webSessionPath } from "../../src/opencode/web-route.js";
import { startWebFront } from "../../src/project/web-front.js";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { ocbox } from "../helpers/cli.js";
import {
  containersOf,
  makeProject,
  removeHome,
  tempHome,
  useScriptedModel,
  type TestProject,
} from "../helpers/project.js";

/** `page.goto(url)`, again (up to 3 times) when the browser cut it with net::ERR_NETWORK_CHANGED (see inPage). */
async function goto(page: Page, url: string) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await page.goto(url);
    } catch (e) {
      if (attempt >= 3 || !String(e).includes("net::ERR_NETWORK_CHANGED")) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

/**
 * A same-origin fetch run in `page`, again (up to 3 times) when the browser itself cut it:
 * Chromium aborts requests in flight with net::ERR_NETWORK_CHANGED when an address appears on
 * this host, which the engine does whenever anything starts a container with a network here
 * (seen in CI rehearsals with other suites running). The front's answer is what is asserted.
 */
async function inPage<T>(page: Page, fn: () => Promise<T>): Promise<T> {
  const cut: string[] = [];
  const onFailed = (r: { url(): string; failure(): { errorText: string } | null }) =>
    cut.push(`${r.url()}: ${r.failure()?.errorText ?? "?"}`);
  page.on("requestfailed", onFailed);
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        return await page.evaluate(fn);
      } catch (e) {
        if (attempt >= 3 || !cut.some((c) => c.endsWith("net::ERR_NETWORK_CHANGED"))) {
          throw new Error(`${String(e)}; requests the browser cut: ${cut.join(", ") || "none"}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  } finally {
    page.off("requestfailed", onFailed);
  }
}

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
let model: ScriptedModel;
let home: string;
let project: TestProject;
let browser: Browser | undefined;

beforeAll(async () => {
  model = await startScriptedModel({ scenario: { turns: [{ text: "hi" }] } });
  home = await tempHome();
  project = await makeProject(home, "webui");
  expect((await project.run(["init", "--yes"])).code).toBe(0);
  await useScriptedModel(project, model.url);
  const up = await project.run(["up", "--detach", "--approve-hook"]);
  expect(up.code, up.stderr).toBe(0);
  // Fails (never skips) when Chromium is missing: `apt-get install -y chromium`.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

afterAll(async () => {
  await browser?.close();
  const id = await project.sandboxId();
  await project.run(["down"]);
  expect(await containersOf([id])).toEqual([]);
  await model?.close();
  await removeHome(home);
});

it("refuses without the one-time login and loads OpenCode's UI with it", async () => {
  const web = ocbox(["web", "--print"], { cwd: project.root, env: project.env });
  try {
    const lines = createInterface({ input: web.child.stdout as NodeJS.ReadableStream });
    const loginUrl = await new Promise<string>((resolve, reject) => {
      lines.once("line", resolve);
      web.child.once("exit", () => reject(new Error("ocbox web exited before printing a link")));
    });
    expect(loginUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/__ocbox\/login\?code=[\w-]+$/);
    expect(loginUrl).not.toContain(await project.password());
    const front = new URL(loginUrl).origin;

    const context = await browser!.newContext();
    const page = await context.newPage();
    const refused = await page.goto(`${front}/`);
    expect(refused?.status()).toBe(401);
    expect(await page.textContent("body")).toContain("Not logged in");

    // Nothing the UI itself asks for is refused by the front's Origin and Sec-Fetch-Site rules.
    const refusedByFront: string[] = [];
    page.on("response", (r) => {
      if (r.status() === 403 || r.status() === 421) refusedByFront.push(`${r.status()} ${r.url()}`);
    });
    const response = await page.goto(loginUrl);
    expect(response?.status()).toBe(200);
    // The front lands on the project's own page in the app (issue 18): /<base64url of /webui>/session,
    // which the app may already have turned into its new-session draft (first-minutes.test.ts
    // follows the landing itself).
    expect(page.url().replace(front, "")).toMatch(
      new RegExp(`^(${webSessionPath("/webui")}|/new-session\\?draftId=[\\w-]+)$`),
    );
    await expect.poll(() => page.title(), { timeout: 30_000 }).toBe("OpenCode");
    // The app has rendered and talks to the server through the front (API calls, event stream).
    await expect
      .poll(async () => (await page.locator("body").innerText()).trim().length, { timeout: 30_000 })
      .toBeGreaterThan(0);
    // The API calls below run from a second tab of the same origin on a JSON route, where no app
    // code runs: in the app's own tab a fetch can be cut by the app's own navigation ("Failed to
    // fetch", seen twice under load), which says nothing about the front. Same origin, same
    // cookie, same Origin and Sec-Fetch-Site headers as the app's requests.
    const api = await context.newPage();
    api.on("response", (r) => {
      if (r.status() === 403 || r.status() === 421) refusedByFront.push(`${r.status()} ${r.url()}`);
    });
    const healthPage = await goto(api, `${front}/global/health`);
    expect(healthPage?.status()).toBe(200);
    const health = await inPage(api, async () => (await fetch("/global/health")).json());
    expect(health).toMatchObject({ healthy: true });
    expect(refusedByFront).toEqual([]);
    // A session is created through the front (a same-origin POST carries the front's Origin).
    const created = await inPage(api, async () => {
      const r = await fetch("/session", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "through the front" }),
      });
      return { status: r.status, body: (await r.json()) as { id?: string } };
    });
    expect(created.status).toBe(200);
    expect(created.body.id).toMatch(/^ses/);
    const sessionCount = async () =>
      inPage(api, async () => ((await (await fetch("/session")).json()) as unknown[]).length);
    const before = await sessionCount();
    expect(before).toBeGreaterThan(0);
    // A foreign page on another 127.0.0.1 port: the browser sends the front's cookie along (same
    // site), but the front refuses its POST, so no session is created.
    const foreign = await foreignPage();
    try {
      const evil = await context.newPage();
      await evil.goto(foreign.url);
      const status = await evil.evaluate(
        async (u) =>
          (await fetch(u, { method: "POST", credentials: "include", body: "{}" }).catch(() => null))
            ?.status ?? 0,
        `${front}/session`,
      );
      expect(status).not.toBe(200);
      expect(await sessionCount()).toBe(before);
      await evil.close();
    } finally {
      foreign.server.close();
    }
    const cookies = await context.cookies();
    expect(cookies.find((c) => c.name.startsWith("ocbox_"))).toMatchObject({
      httpOnly: true,
      sameSite: "Strict",
    });
    const dir = join(import.meta.dirname, "..", "..", "test-results");
    await mkdir(dir, { recursive: true });
    await page.waitForTimeout(1500); // let the UI settle for a readable screenshot
    await page.screenshot({ path: join(dir, "web-ui.png") });

    // The link is spent: a second browser cannot use it.
    const other = await browser!.newContext();
    const again = await (await other.newPage()).goto(loginUrl);
    expect(again?.status()).toBe(401);
    await other.close();
    await context.close();
  } finally {
    web.child.kill("SIGINT");
    await web;
  }
});

/** A page on another 127.0.0.1 port: to the browser, the same site as the front. */
async function foreignPage(): Promise<{ server: Server; url: string }> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/html" }).end("<!doctype html><title>foreign</title>");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` };
}

it("a foreign 127.0.0.1 page: its cookies never cross the front, nor the server's Set-Cookie, and its POST and websocket are refused", async () => {
  // A capture server in place of the sandbox's: it records what the front forwards.
  const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; upgrade: boolean }> = [];
  const upstream = createServer((req, res) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, upgrade: false });
    res
      .writeHead(200, { "content-type": "text/html", "set-cookie": "upstream_cookie=planted; Path=/" })
      .end("<!doctype html><title>captured</title>");
  });
  upstream.on("upgrade", (req, socket) => {
    seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, upgrade: true });
    socket.destroy();
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const front = await startWebFront({
    url: `http://127.0.0.1:${(upstream.address() as { port: number }).port}`,
    password: "capture-password",
  });
  const foreign = await foreignPage();
  const context = await browser!.newContext();
  try {
    // Another app on 127.0.0.1 left a cookie in the browser; it is sent to every 127.0.0.1 port.
    await context.addCookies([{ name: "other_app_session", value: "s3cret-of-other-app", url: foreign.url }]);
    const page = await context.newPage();
    expect((await page.goto(front.loginUrl()))?.status()).toBe(200);
    expect(await page.title()).toBe("captured");
    const ok = await page.evaluate(async () => (await fetch("/x", { method: "POST", body: "{}" })).status);
    expect(ok).toBe(200);
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const r of seen) {
      expect(r.headers.cookie).toBeUndefined();
      expect(r.headers.authorization).toMatch(/^Basic /);
    }
    const names = (await context.cookies()).map((c) => c.name);
    expect(names).not.toContain("upstream_cookie");
    expect(names.filter((n) => n.startsWith("ocbox_"))).toHaveLength(1);

    // From the foreign page: a cross-origin POST (the browser attaches the front's cookie) and a
    // cross-origin websocket. Neither reaches the server.
    const count = seen.length;
    const evil = await context.newPage();
    await evil.goto(foreign.url);
    const post = await evil.evaluate(
      async (u) =>
        (
          await fetch(u, { method: "POST", credentials: "include", mode: "no-cors", body: "{}" }).catch(
            () => null,
          )
        )?.type ?? "error",
      `${front.url}/session`,
    );
    expect(post).toBe("opaque");
    const ws = await evil.evaluate(
      (u) =>
        new Promise<string>((resolve) => {
          const sock = new WebSocket(u);
          sock.onopen = () => resolve("open");
          sock.onerror = () => resolve("error");
        }),
      `${front.url.replace("http:", "ws:")}/pty/x/connect`,
    );
    expect(ws).toBe("error");
    await new Promise((r) => setTimeout(r, 300));
    expect(seen.slice(count)).toEqual([]);
    // The same requests, spelled by hand with the front's cookie, show the status: 403.
    const cookie = (await context.cookies()).find((c) => c.name.startsWith("ocbox_"));
    const byHand = await fetch(`${front.url}/session`, {
      method: "POST",
      headers: { cookie: `${cookie?.name}=${cookie?.value}`, origin: foreign.url.replace(/\/$/, "") },
      body: "{}",
    });
    expect(byHand.status).toBe(403);
    const noOrigin = await fetch(`${front.url}/session`, {
      method: "POST",
      headers: { cookie: `${cookie?.name}=${cookie?.value}` },
      body: "{}",
    });
    expect(noOrigin.status).toBe(403);
    expect(seen.slice(count)).toEqual([]);
  } finally {
    await context.close();
    await front.close();
    foreign.server.close();
    upstream.close();
  }
});
