/**
 * A person's first minutes (issue 18), in Debian's Chromium driven by playwright-core, against the
 * real sandbox, the real OpenCode and the scripted model: the one-time link opens the UI on the
 * project (shown by name, a folder that is not a git repository, no picker); a prompt is typed
 * into the page and sent with Enter; the scripted model's tool call writes a file and its reply
 * appears in the page; after `ocbox down` the file is on the host and belongs to the folder's
 * owner (ocbox runs as root on an ordinary user's folder: `sudo ocbox up`, so this is the
 * give-back); `up` again, in a fresh browser, the session is listed on the app's home and opens
 * with its messages, and so does a session made at the old /workspace path.
 * Screenshots of each step go to test-results/first-minutes/.
 */
import { chown, mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium, type Browser, type Page, type Request } from "playwright-core";
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
        // Spare replies: a loaded machine may make OpenCode ask the model again (a retry).
        { text: REPLY },
        { text: REPLY },
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

it("opens on the project, sends a prompt from the page, keeps the file and the session across down and up", async () => {
  const up = await project.run(["up", "--detach", "--approve-hook"]);
  expect(up.code, up.stderr).toBe(0);
  expect(up.stdout).toMatch(/inside {4}\/firstmin \(the same files/);
  // What the person will see, as the summary says it (and as the screenshots show it).
  expect(up.stdout).toContain(
    'UI        opens on /firstmin, ready for a new session: the prompt box with "firstmin"',
  );

  const first = await openUi("01-landing");
  const { page } = first;
  // Typed into the prompt editor (a contenteditable: real key events) and sent with Enter, as a
  // person would; the scripted model is the configured default, so the UI has a model to send to.
  await page.locator('[data-component="prompt-input"]').click();
  await page.keyboard.type("Please write hello.txt");
  await shot(page, "02-typed");
  await sendWithEnter(page);
  // The scripted model's tool call (write) and then its reply appear in the page.
  await expect.poll(() => bodyText(page), { timeout: 120_000 }).toContain(REPLY);
  expect(await bodyText(page)).toContain("hello.txt");
  await shot(page, "03-reply");

  // A session made at the old path (what `up` mounted before the project had its own name).
  const old = await api<{ id: string }>(page, "/session", { title: "made at /workspace" }, "/workspace");
  await first.close();

  const down = await project.run(["down"]);
  expect(down.code, down.stderr).toBe(0);
  // The agent's file is on the host and belongs to the folder's owner (ocbox ran as root: the
  // workspace was lent to the agent user and given back).
  expect(await readFile(join(project.root, "hello.txt"), "utf8")).toBe("hello from the agent\n");
  expect(await stat(join(project.root, "hello.txt"))).toMatchObject(OWNER);
  expect(await stat(project.root)).toMatchObject(OWNER);

  const again = await project.run(["up", "--detach", "--approve-hook"]);
  expect(again.code, again.stderr).toBe(0);
  // A fresh browser (no stored projects): the link still lands on the project, the session is
  // listed on the app's home and opens with its messages.
  const second = await openUi("04-landing-again");
  await second.page.getByRole("button", { name: "Home" }).click();
  const row = second.page.locator('[data-component="home-session-row"]', { hasText: "Scripted session" });
  await onFailure(second.page, "05-listed-after-up", () =>
    expect.poll(() => row.count(), { timeout: 120_000 }).toBe(1),
  );
  await shot(second.page, "05-listed-after-up");
  await row.click();
  await expect.poll(() => bodyText(second.page), { timeout: 120_000 }).toContain(REPLY);
  expect(await bodyText(second.page)).toContain("Please write hello.txt");
  await shot(second.page, "06-session-after-up");
  await second.page.goto(`${second.origin}${webSessionPath("/workspace", old.id)}`);
  await expect.poll(() => bodyText(second.page), { timeout: 120_000 }).toContain("made at /workspace");
  await shot(second.page, "07-old-path-session");
  await second.close();
}, 900_000);

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
  const catalogue = watchCatalogue(page);
  const opened = Date.now();
  await page.goto(loginUrl);
  const picked = page.locator('[data-action="prompt-project"]');
  await expect.poll(() => picked.innerText().catch(() => ""), { timeout: 120_000 }).toContain("firstmin");
  expect(await bodyText(page)).toContain("No Git");
  expect(await bodyText(page)).not.toContain("New project");
  // The app sends a prompt only once it has its agents and models (before that, Send shows "Select
  // an agent and a model"): wait for its own catalogue requests, as a person waits for the page.
  await expect.poll(() => catalogue.settled(), { timeout: 180_000 }).toBe(true);
  console.log(`${name}: the app had its agents and models ${Date.now() - opened} ms after the link`);
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

/**
 * Enter sends the prompt; one pressed while the app is still loading is dropped (no request), and
 * a person presses it again, as the README says.
 */
async function sendWithEnter(page: Page): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const sent = page
      .waitForRequest((r) => r.method() === "POST" && /\/prompt_async$/.test(r.url()), { timeout: 30_000 })
      .then(
        () => true,
        () => false,
      );
    await page.keyboard.press("Enter");
    if (await sent) return;
    if (attempt === 6) throw new Error("Enter in the prompt box sent no prompt in 3 minutes");
    console.log(`Enter #${attempt} sent nothing (the app was still loading); pressing it again`);
  }
}

/**
 * The app's requests for its agents and models (`/agent`, `/provider`): ready once one of each has
 * been answered (the app asks again every few seconds; it needs the first answers, not a lull).
 */
function watchCatalogue(page: Page): { settled(): boolean } {
  const answered = new Set<string>();
  const done = (r: Request) => {
    const url = new URL(r.url());
    const m = /^\/(agent|provider)$/.exec(url.pathname);
    if (m?.[1] && url.searchParams.get("directory") === "/firstmin") answered.add(m[1]);
  };
  page.on("requestfinished", done);
  return { settled: () => answered.has("agent") && answered.has("provider") };
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

/** A failed wait leaves its page as an artifact (`<name>-failed.png`, and its text in the log). */
async function onFailure(page: Page, name: string, wait: () => Promise<unknown>): Promise<void> {
  try {
    await wait();
  } catch (error) {
    await page.screenshot({ path: join(SHOTS, `${name}-failed.png`) }).catch(() => undefined);
    console.log(`${name} failed; the page said:\n${await bodyText(page).catch(() => "(unreadable)")}`);
    throw error;
  }
}

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
