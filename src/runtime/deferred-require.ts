/**
 * CommonJS modules a dependency requires at load time but uses only in a path ocbox never takes,
 * loaded on their first use instead. dockerode requires `@grpc/grpc-js` and `@grpc/proto-loader`
 * for BuildKit sessions (a `buildImage` with `version: "2"`); ocbox builds through the engine's
 * classic API builder, and loading the two took about 0.4 s of every engine command's start on
 * 2 cores (issue 16). Each deferred module stands in the require cache as a proxy that loads the
 * real one on first touch and then forwards to it.
 */
import { Module, createRequire } from "node:module";

/** Defer `ids` as resolved from `fromFile` (the requiring package's file); already loaded ones stay. */
export function deferRequire(ids: readonly string[], fromFile: string): void {
  const req = createRequire(fromFile);
  for (const id of ids) {
    const path = req.resolve(id);
    if (req.cache[path]) continue;
    let real: object | undefined;
    const load = (): object => {
      if (real === undefined) {
        delete req.cache[path];
        real = req(path) as object;
      }
      return real;
    };
    const stand = new Module(path);
    stand.filename = path;
    stand.loaded = true;
    stand.exports = new Proxy(
      {},
      {
        get: (_t, key) => Reflect.get(load(), key) as unknown,
        has: (_t, key) => Reflect.has(load(), key),
        ownKeys: () => Reflect.ownKeys(load()),
        getOwnPropertyDescriptor: (_t, key) => {
          const d = Reflect.getOwnPropertyDescriptor(load(), key);
          return d ? { ...d, configurable: true } : undefined;
        },
      },
    );
    req.cache[path] = stand;
  }
}
