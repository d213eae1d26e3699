import { readFileSync } from "node:fs";
import { join } from "node:path";
import { packageRoot } from "./util/paths.js";

/** ocbox's own version, from its package.json. */
export const OCBOX_VERSION: string = (
  JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }
).version;
