// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/** Folders of src/ the services run, and those only tools use (docs/architecture.md). */
export const RUNTIME = [
  'ingest',
  'normalize',
  'processors',
  'kafka',
  'state',
  'registry',
  'observability',
  'contract',
  'lib',
  'config',
];
export const TOOLING = ['stack', 'simulate', 'demo', 'ops', 'cli'];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.refreshbus/', 'coverage/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['*.js', 'bin/*.js'] } },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      'no-console': 'off',
    },
  },
  {
    // the runtime (the services and their core) never reaches into the tooling: the local stack,
    // the simulator, the demo, the operator commands and the CLI (issue 18)
    files: RUNTIME.map((folder) => `src/${folder}/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `(^|/)(${TOOLING.join('|')})/`,
              message:
                'runtime code (src/' +
                RUNTIME.join(', src/') +
                ') must not import tooling; take brokers and the registry as configuration (src/config/endpoints.ts) and throw core errors (src/lib/errors.ts)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  prettier,
);
