/**
 * The web login as `ocbox web --print` offers it, in Debian's Chromium driven by playwright-core:
 * without the one-time link the page refuses; with it, OpenCode's UI loads; the link works once.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
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

    const response = await page.goto(loginUrl);
    expect(response?.status()).toBe(200);
    expect(page.url()).toBe(`${front}/`);
    await expect.poll(() => page.title(), { timeout: 30_000 }).toBe("OpenCode");
    // The app has rendered and talks to the server through the front (API calls, event stream).
    await expect
      .poll(async () => (await page.locator("body").innerText()).trim().length, { timeout: 30_000 })
      .toBeGreaterThan(0);
    const health = await page.evaluate(async () => (await fetch("/global/health")).json());
    expect(health).toMatchObject({ healthy: true });
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
