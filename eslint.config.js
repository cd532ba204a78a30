// Lint: correctness rules. Module boundaries (DESIGN.md §2) live in scripts/check-boundaries.ts.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      '.quickstart/**',
      'test-artifacts/**',
      'control-plane/console/assets/**',
      'test/lint-fixtures/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself awaits.
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      curly: ['error', 'all'],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  // Module boundaries and index-only imports are checked by scripts/check-boundaries.ts.
  {
    files: ['agent/**', 'control-plane/**', 'protocol/**', 'cli/**', 'installer/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name=/^(exit|argv)$/]",
          message: 'only bin/ touches process.exit and process.argv',
        },
        {
          selector: "CallExpression[callee.object.name='process'][callee.property.name='on']",
          message: 'only bin/ installs process signal handlers',
        },
      ],
    },
  },
);
