// Scenario "cli": the whole `ocbox` process for commands that do no engine work, next to a bare
// `node` start (the floor any Node CLI pays), interleaved so the machine's noise hits all alike.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fmt, ratios, summary } from "./lib.js";

const CLI = join(import.meta.dirname, "..", "dist", "bin", "ocbox.js");

function seconds(args) {
  const t = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  if (r.status !== 0) throw new Error(`${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

export async function benchCli({ runs = 10 } = {}) {
  const cases = { node: ["-e", ""], version: [CLI, "--version"], runHelp: [CLI, "run", "--help"] };
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  seconds(cases.version); // the first start warms the disk cache
  for (let i = 0; i < runs; i++)
    for (const [k, args] of Object.entries(cases)) samples[k].push(seconds(args));
  const result = Object.fromEntries(Object.entries(samples).map(([k, xs]) => [k, summary(xs)]));
  result.versionOverNode = ratios(samples.version, samples.node);
  console.log(`bare node start: ${fmt(result.node)}`);
  console.log(`ocbox --version: ${fmt(result.version)}`);
  console.log(`ocbox run --help (loads run's code): ${fmt(result.runHelp)}`);
  return result;
}
