// @ts-check
import tseslint from "typescript-eslint";

/** The folders of src/, lowest first: a folder may import only the folders before it. */
const LAYERS = [
  "util",
  "config",
  "runtime",
  "opencode",
  "scripted-model",
  "egress",
  "image",
  "sandbox",
  "plan",
  "executor",
  "eval",
  "project",
  "monitor",
  "bridge",
  "service",
  "cli",
];

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
  // The map (ARCHITECTURE.md): each folder of src/ imports only the folders before it in LAYERS
  // (util/ and errors.ts at the bottom, the front doors at the top), types included, so no import
  // cycle can run between folders; `madge --circular` in `npm run lint` keeps files acyclic too.
  // plan/ is pure on top of that: it reaches no OpenCode client and no scripted model.
  ...LAYERS.slice(0, -1).map((folder, i) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: LAYERS.slice(i + 1).map((above) => `**/${above}/**`),
              message: `That folder is above ${folder}/ on the map (LAYERS in eslint.config.js): move the shared type or helper down, or pass the data in.`,
            },
            ...(folder === "plan"
              ? [
                  {
                    group: ["**/opencode/**", "**/scripted-model/**"],
                    message: "plan/ is pure and below its callers: pass the data in instead.",
                  },
                ]
              : []),
          ],
        },
      ],
    },
  })),
  {
    files: ["src/errors.ts", "src/version.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { group: LAYERS.slice(1).map((f) => `**/${f}/**`), message: "Only util/ is below this file." },
          ],
        },
      ],
    },
  },
  // No function over 80 lines (skipping blank lines and comments): split it into named steps.
  {
    files: ["src/**/*.ts"],
    rules: { "max-lines-per-function": ["error", { max: 80, skipBlankLines: true, skipComments: true }] },
  },
  // The benchmark harness is plain JS over dist/: lint it without type information.
  { files: ["bench/**/*.js", "rolldown.config.mjs"], ...tseslint.configs.disableTypeChecked },
);
