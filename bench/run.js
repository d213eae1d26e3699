// `npm run bench`: the benchmark harness. Real engine, real image, real opencode, scripted model.
import { benchStart } from "./start.js";
import { benchUp } from "./up.js";
import { machine, writeResults } from "./lib.js";

const only = process.argv[2];
const results = { at: new Date().toISOString(), machine: machine() };
if (!only || only === "start") results.start = await benchStart();
if (!only || only === "up") results.up = await benchUp();
const file = await writeResults("bench", results);
console.log(`results: ${file}`);
process.exit(0);
