/**
 * A project whose agent may reach one host port of this machine (`egress.hostPorts`): a listener
 * on the loopback that answers `host says <secret>`, and the scripted model as the provider.
 * `close()` runs `ocbox down`, checks that the sandbox's containers are gone, and removes it all.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import { join } from "node:path";
import { expect } from "vitest";
import { parseDocument } from "yaml";
import { startScriptedModel } from "../../src/scripted-model/server.js";
import {
  containersOf,
  makeProject,
  removeHome,
  tempHome,
  useScriptedModel,
  type TestProject,
} from "./project.js";

export interface HostPortProject {
  p: TestProject;
  /** The project's sandbox id. */
  id: string;
  port: number;
  secret: string;
  close: () => Promise<void>;
}

export async function hostPortProject(name: string): Promise<HostPortProject> {
  const secret = randomBytes(8).toString("hex");
  const model = await startScriptedModel({ scenario: { models: ["scripted"], turns: [] } });
  const listener = createServer((_req, res) => res.end(`host says ${secret}\n`));
  await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
  const port = (listener.address() as { port: number }).port;
  const home = await tempHome();
  const p = await makeProject(home, name);
  const init = await p.run(["init", "--yes", "--json"]);
  expect(init.code, init.stderr).toBe(0);
  await useScriptedModel(p, model.url);
  const file = join(p.root, "ocbox.yaml");
  const doc = parseDocument(await readFile(file, "utf8"));
  doc.setIn(["egress", "hostPorts"], [port]);
  await writeFile(file, doc.toString());
  const id = await p.sandboxId();
  return {
    p,
    id,
    port,
    secret,
    close: async () => {
      await p.run(["down"]);
      expect(await containersOf([id])).toEqual([]);
      await model.close();
      listener.close();
      await removeHome(home);
    },
  };
}
