// @ts-check
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "node_modules/**", "bench/results/**", "coverage/**", "eslint.config.js"] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": "error",
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "prefer-const": "error",
      "no-else-return": "error",
    },
  },
  // The planner sits between config/ and the callers (ARCHITECTURE "plan/"): nothing below it
  // imports it, and it imports no caller, so no import cycle runs through it.
  {
    files: ["src/{config,egress,sandbox,image,runtime,opencode,util}/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: ["**/plan/*"], message: "plan/ is above this folder; only its callers import it." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/plan/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: [
                "executor",
                "project",
                "eval",
                "cli",
                "bridge",
                "service",
                "monitor",
                "opencode",
                "scripted-model",
              ].map((f) => `../${f}/*`),
              message: "plan/ is pure and below its callers: pass the data in instead.",
            },
          ],
        },
      ],
    },
  },
  // The benchmark harness is plain JS over dist/: lint it without type information.
  { files: ["bench/**/*.js"], ...tseslint.configs.disableTypeChecked },
);
