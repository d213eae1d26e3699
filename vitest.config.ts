import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          testTimeout: 10_000,
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/integration/**/*.test.ts"],
          // The ssh leg's own file (.ci/leg-ssh): it kills ocbox's ssh forwards, so it needs one.
          exclude: [
            ...configDefaults.exclude,
            ...(/^ssh:\/\//.test(process.env.DOCKER_HOST ?? "")
              ? []
              : ["test/integration/ssh-forward.test.ts"]),
          ],
          // Real engine, real image, real opencode: slow by nature, and the machine has 2 cores.
          testTimeout: 600_000,
          hookTimeout: 900_000,
          fileParallelism: false,
          globalSetup: ["test/integration/global-setup.ts"],
        },
      },
    ],
  },
});
