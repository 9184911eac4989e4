// ESLint with typescript-eslint's type-aware rules (`npm run lint`). Formatting is Prettier's (`npm run format:check`),
// so no stylistic rules here.
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "coverage/", "node_modules/", "fixtures/", "tmp/"] },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["*.js", "bin/*.js", "scripts/*.mjs", "test/cli/fixtures/*.mjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: {
        process: "readonly",
        console: "readonly",
        URL: "readonly",
        fetch: "readonly",
        AbortSignal: "readonly",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        performance: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Plain JavaScript (the bin, the build script, test hooks): no type information to check against.
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The dashboard's page script runs in the browser, not in Node.
    files: ["src/dashboard/assets/*.js"],
    languageOptions: { globals: { document: "readonly", window: "readonly" } },
  },
  {
    // Adapters that implement an async port over a synchronous backend (better-sqlite3, in-memory maps): `async` is
    // what turns a thrown error into the rejected promise callers handle, so a method with no `await` is intended.
    files: [
      "src/store/sqlite/**/*.ts",
      "src/audit/store.ts",
      "src/dashboard/sqlite-source.ts",
      "src/github/report.ts",
      "test/store/backends.ts",
      "test/server/front*.ts",
    ],
    rules: { "@typescript-eslint/require-await": "off" },
  },
  {
    // Vitest types its asymmetric matchers (expect.stringContaining, expect.any, ...) as `any`, by design, so that they
    // fit any expected shape: every `{ title: expect.stringContaining(...) }` would be an "unsafe assignment".
    files: ["test/**/*.ts"],
    rules: { "@typescript-eslint/no-unsafe-assignment": "off" },
  },
);
