/**
 * A person's first minutes (issue 18), in Debian's Chromium driven by playwright-core, against the
 * real sandbox, the real OpenCode and the scripted model: the one-time link opens the UI on the
 * project (shown by name, a folder that is not a git repository, no picker); a prompt is typed
 * into the page and a session made through the front opens in the UI; after `ocbox down` and
 * `up` again (ocbox runs as root on an ordinary user's folder: `sudo ocbox up`), in a fresh
 * browser, the session opens again, and so does a session made at the old /workspace path.
 * Screenshots of each step go to test-results/first-minutes/.
 */
import { chown, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startScriptedModel, type ScriptedModel } from "../../src/scripted-model/server.js";
import { webSessionPath } from "../../src/opencode/web-route.js";
import { ocbox } from "../helpers/cli.js";
import { makeProject, removeHome, tempHome, useScriptedModel, type TestProject } from "../helpers/project.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SHOTS = join(import.meta.dirname, "..", "..", "test-results", "first-minutes");
const OWNER = { uid: 1000, gid: 1000 };
const REPLY = "I wrote hello.txt for you.";
let model: ScriptedModel;
let home: string;
let project: TestProject;
let browser: Browser | undefined;

beforeAll(async () => {
  model = await startScriptedModel({
    scenario: {
      turns: [
        {
          toolCalls: [
            {
              name: "write",
              arguments: { filePath: "/firstmin/hello.txt", content: "hello from the agent\n" },
            },
          ],
        },
        { text: REPLY },
      ],
    },
  });
  home = await tempHome();
  project = await makeProject(home, "firstmin");
  await writeFile(join(project.root, "README.md"), "# firstmin\n");
  expect((await project.run(["init", "--yes"])).code).toBe(0);
  await useScriptedModel(project, model.url);
  // An ordinary user's folder (not a git repository), started by root: `sudo ocbox up`.
  await chownTree(project.root);
  await mkdir(SHOTS, { recursive: true });
  // Fails (never skips) when Chromium is missing: `apt-get install -y chromium`.
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
});

afterAll(async () => {
  await browser?.close();
  await project?.run(["down"]);
  await model?.close();
  await removeHome(home);
});

it("opens on the project, runs a prompt, keeps the file and the session across down and up", async () => {
  const up = await project.run(["up", "--detach", "--approve-hook"]);
  expect(up.code, up.stderr).toBe(0);
  expect(up.stdout).toMatch(/inside {4}\/firstmin \(the same files/);

  const first = await openUi("01-landing");
  const { page } = first;
  // The prompt is typed into the page; sending it from the new layout's draft does not reach the
  // server in this headless Chromium (no request at all), so it goes through the page's own
  // origin as the app would send it (front, cookie, Origin), and the session is then opened in the UI.
  const input = page.locator('[data-component="prompt-input"]');
  await input.click();
  await page.keyboard.type("Please write hello.txt");
  await shot(page, "02-typed");
  const made = await api<{ id: string; title: string }>(page, "/session", {}, "/firstmin");
  await api(
    page,
    `/session/${made.id}/prompt_async`,
    { parts: [{ type: "text", text: "Please write hello.txt" }] },
    "/firstmin",
  );
  await page.goto(`${first.origin}${webSessionPath("/firstmin", made.id)}`);
  // The session opens in the UI with the prompt (the agent's reply is not asserted: see the report).
  await expect.poll(() => bodyText(page), { timeout: 60_000 }).toContain("Please write hello.txt");
  await expect.poll(() => bodyText(page), { timeout: 60_000 }).toContain("Scripted session");
  await shot(page, "03-session");

  // A session made at the old path (what `up` mounted before the project had its own name).
  const old = await api<{ id: string }>(page, "/session", { title: "made at /workspace" }, "/workspace");
  await first.close();

  const down = await project.run(["down"]);
  expect(down.code, down.stderr).toBe(0);
  // The folder is still its owner's after the give-back.
  expect(await stat(project.root)).toMatchObject(OWNER);

  const again = await project.run(["up", "--detach", "--approve-hook"]);
  expect(again.code, again.stderr).toBe(0);
  // A fresh browser (no stored projects): the link still lands on the project.
  const second = await openUi("04-landing-again");
  await second.page.goto(`${second.origin}${webSessionPath("/firstmin", made.id)}`);
  // The session is still there and opens (its title; its messages are not asserted: see the report).
  await expect.poll(() => bodyText(second.page), { timeout: 60_000 }).toContain("Scripted session");
  await shot(second.page, "05-session-after-up");
  await second.page.goto(`${second.origin}${webSessionPath("/workspace", old.id)}`);
  await expect.poll(() => bodyText(second.page), { timeout: 60_000 }).toContain("made at /workspace");
  await shot(second.page, "06-old-path-session");
  await second.close();
}, 600_000);

/** `ocbox web --print`, its link in a fresh browser context; the project is shown by name. */
async function openUi(name: string): Promise<{ page: Page; origin: string; close(): Promise<void> }> {
  const web = ocbox(["web", "--print"], { cwd: project.root, env: project.env });
  const lines = createInterface({ input: web.child.stdout as NodeJS.ReadableStream });
  const loginUrl = await new Promise<string>((resolve, reject) => {
    lines.once("line", resolve);
    web.child.once("exit", () => reject(new Error("ocbox web exited before printing a link")));
  });
  const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(loginUrl);
  const picked = page.locator('[data-action="prompt-project"]');
  await expect.poll(() => picked.innerText().catch(() => ""), { timeout: 60_000 }).toContain("firstmin");
  expect(await bodyText(page)).toContain("No Git");
  expect(await bodyText(page)).not.toContain("New project");
  await shot(page, name);
  return {
    page,
    origin: new URL(loginUrl).origin,
    close: async () => {
      await context.close();
      web.child.kill("SIGINT");
      await web;
    },
  };
}

async function api<T = unknown>(page: Page, path: string, body?: unknown, directory?: string): Promise<T> {
  return page.evaluate(
    async ([p, b, d]) => {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (d) headers["x-opencode-directory"] = d;
      const r = await fetch(
        p,
        b === undefined ? { headers } : { method: "POST", headers, body: JSON.stringify(b) },
      );
      if (!r.ok) throw new Error(`${p}: ${r.status}`);
      return r.status === 204 ? null : r.json();
    },
    [path, body, directory] as const,
  ) as Promise<T>;
}

const bodyText = (page: Page) => page.locator("body").innerText();

async function shot(page: Page, name: string): Promise<void> {
  await page.waitForTimeout(800); // let the UI settle for a readable screenshot
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

async function chownTree(dir: string): Promise<void> {
  await chown(dir, OWNER.uid, OWNER.gid);
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await chownTree(p);
    else await chown(p, OWNER.uid, OWNER.gid);
  }
}
