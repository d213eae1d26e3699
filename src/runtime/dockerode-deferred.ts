/**
 * Imported before dockerode (runtime/connect.ts): its BuildKit-only gRPC modules load on first use
 * (deferred-require.ts), not with every engine command.
 */
import { createRequire } from "node:module";
import { deferRequire } from "./deferred-require.js";

const dockerode = createRequire(import.meta.url).resolve("dockerode");
deferRequire(["@grpc/grpc-js", "@grpc/proto-loader"], dockerode);
