// ESLint: the recommended JavaScript and TypeScript rules, on the TypeScript sources.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  // The one-way ladder: core -> store -> chain -> modules -> app (src/app, src/api, src/cli).
  // A layer imports only from layers below it; CI runs this as part of `npm run lint`.
  ...ladder([
    ['src/core/**', ['store', 'chain', 'modules', 'app', 'api', 'cli']],
    ['src/store/**', ['chain', 'modules', 'app', 'api', 'cli']],
    ['src/chain/**', ['modules', 'app', 'api', 'cli']],
    ['src/modules/**', ['app', 'api', 'cli']],
    // The web page runs in a browser: it shares src/core and nothing above it.
    ['web/src/**', ['store', 'chain', 'net', 'modules', 'app', 'api', 'cli']],
  ]),
  {
    // Tests poke at untyped JSON replies; `any` there is a convenience, not a hole.
    files: ['**/*.test.ts', 'test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['bin/*.js', 'eslint.config.js', 'web/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);

function ladder(layers) {
  return layers.map(([files, above]) => ({
    files: [files],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: above.map((layer) => ({
          group: [`**/${layer}/*`, `**/${layer}/**`],
          message: `imports flow one way: core -> store -> chain -> modules -> app; this file may not import from src/${layer}`,
        })),
      }],
    },
  }));
}
