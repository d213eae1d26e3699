// The no-shared-files engine's side of bench/engines.js: run inside the noshare container (as
// `.ci/leg-noshare` runs ocbox: only the engine's socket, node and the built package, read-only,
// and a tmpfs HOME the engine cannot see). Prepares its harness (and a scripted model on its own
// loopback, reached by the sandbox through the reverse relay), prints `ready VERSION`, then answers
// each line of stdin ("up", "cold", "copy") with one JSON line on stdout; EOF ends it.
import { createInterface } from "node:readline";
import { scriptedOpencodeConfig } from "../dist/scripted-model/opencode-config.js";
import { startScriptedModel } from "../dist/scripted-model/server.js";
import { engineHarness } from "./engine-harness.js";

const model = await startScriptedModel({ scenario: { turns: [] } });
const h = await engineHarness(
  { name: "noshare", env: process.env },
  model,
  scriptedOpencodeConfig(model.url),
);
process.stdout.write(`${JSON.stringify({ ready: h.version })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const kind = line.trim();
  if (!["up", "cold", "copy"].includes(kind)) continue;
  try {
    process.stdout.write(`${JSON.stringify({ value: await h[kind]() })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? e.message : String(e) })}\n`);
  }
}
h.close();
await model.close();
