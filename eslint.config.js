// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * The layout of src/ (docs/architecture.md): the services and their core; the command line and
 * the operator commands, which the production image carries too; and src/tools/ — the local
 * stack, the simulator, the demo and their commands — which it leaves out.
 */
export const CORE = [
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
export const COMMANDS = ['cli', 'ops'];
export const TOOLS = 'tools';

/**
 * An import rule for `files`: no import whose path goes through one of `folders`.
 * @param {string[]} files
 * @param {string[]} folders
 * @param {string} message
 */
function forbid(files, folders, message) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: `(^|/)(${folders.join('|')})/`, message }] },
      ],
    },
  };
}

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
    // files and functions a reader can hold in mind (issue 18)
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: false, skipComments: false }],
      'max-lines-per-function': [
        'error',
        { max: 80, skipBlankLines: false, skipComments: false, IIFEs: true },
      ],
    },
  },
  // the services and their core never reach into the command line, the operator commands or the
  // tooling (issue 18): they take brokers and the registry as configuration and throw core errors
  forbid(
    CORE.map((folder) => `src/${folder}/**/*.ts`),
    [...COMMANDS, TOOLS],
    'runtime code (src/' +
      CORE.join(', src/') +
      ') must not import the CLI, the operator commands or src/tools; take brokers and the registry as configuration (src/config/endpoints.ts) and throw core errors (src/lib/errors.ts)',
  ),
  // the production image runs the CLI and the operator commands without src/tools
  forbid(
    COMMANDS.map((folder) => `src/${folder}/**/*.ts`),
    [TOOLS],
    'the CLI and the operator commands run in the production image, which has no src/tools: src/cli/main.ts loads the tooling commands with a dynamic import, when present (loadToolCommands)',
  ),
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
  prettier,
);
