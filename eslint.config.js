// ESLint for the TypeScript of lib/, test/ and benchmarks/: the recommended rules of ESLint
// and typescript-eslint, plus the type-aware rules that catch a forgotten promise, which
// matter in a package whose every computation is asynchronous.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      'dist/',
      'build/',
      'build-cmake/',
      'prebuilds/',
      'node_modules/',
      'benchmarks/node_modules/',
      '.stryker-tmp/',
      'reports/',
      'docs/api/',
      '.scratch/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `_name` marks a value that is destructured away on purpose.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Non-null assertions stand where noUncheckedIndexedAccess cannot see a checked bound.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // A regex that matches a stack frame's four spaces reads better with the spaces.
      'no-regex-spaces': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
      },
    },
  },
  // The install and build scripts run before anything is compiled: plain CommonJS.
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
