/**
 * Zod compiles a parser with `new Function` for each object schema on its first parse. A command
 * parses each schema a few times, so that compile is all cost and no gain: off for the CLI's
 * process, before any schema is built (zod reads the switch when a schema is made). Imported first
 * by main.ts; the package's library users keep zod's default.
 */
import { config } from "zod";

config({ jitless: true });
