/** `ocbox dashboard` as a library call: the server, fed by the collector every `intervalMs`. */
import type { Engine } from "../runtime/engine.js";
import { DashboardCollector, type CollectorOptions } from "./dashboard-collector.js";
import { startDashboardServer, type DashboardServer } from "./dashboard-server.js";

export interface Dashboard extends Pick<DashboardServer, "url" | "port" | "loginUrl"> {
  close(): Promise<void>;
}

export async function openDashboard(
  engine: Engine,
  options: CollectorOptions & { port?: number; intervalMs?: number; onError?: (e: unknown) => void } = {},
): Promise<Dashboard> {
  const server = await startDashboardServer(options.port !== undefined ? { port: options.port } : {});
  const collector = new DashboardCollector(engine, options);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const tick = () => {
    round = collector
      .collect()
      .then((snapshot) => {
        if (!stopped) server.publish(snapshot);
      })
      .catch((e: unknown) => options.onError?.(e))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, options.intervalMs ?? 2000);
      });
  };
  tick();
  return {
    url: server.url,
    port: server.port,
    loginUrl: () => server.loginUrl(),
    close: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await round;
      await collector.close();
      await server.close();
    },
  };
}
