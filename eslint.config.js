// Type-aware lint. The dependency direction of docs/ARCHITECTURE.md is enforced here so it cannot rot:
// each module may import only the modules listed for it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** module -> modules it may import (besides itself). */
const allowedImports = {
  core: [],
  scope: ['core'],
  crdt: ['core'],
  p2p: ['core', 'crdt'],
  glue: ['core', 'scope'],
  node: ['core', 'scope', 'crdt', 'p2p', 'glue'],
};
const modules = ['core', 'scope', 'crdt', 'p2p', 'glue', 'node', 'simulator', 'cli', 'test', 'bench'];

function boundaryRules(module) {
  const forbidden = modules.filter((m) => m !== module && !allowedImports[module].includes(m));
  const depth = module === 'glue' ? ['../', '../../', '../../../'] : ['../', '../../', '../../../'];
  const patterns = forbidden.flatMap((target) =>
    depth.map((prefix) => ({
      group: [`${prefix}${target}/*`, `${prefix}${target}`],
      message: `${module}/ may not import ${target}/ (see docs/ARCHITECTURE.md)`,
    })),
  );
  const libraryRules = [];
  if (module !== 'p2p') {
    libraryRules.push({ group: ['libp2p', '@libp2p/*', '@chainsafe/*', '@multiformats/*'], message: 'only p2p/ imports libp2p' });
  }
  libraryRules.push({ group: ['level', 'classic-level'], message: 'only crdt/level-storage.ts imports level' });
  return { 'no-restricted-imports': ['error', { patterns: [...patterns, ...libraryRules] }] };
}

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'bin/**', '.cheops/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'TSEnumDeclaration', message: 'use an `as const` object, not an enum' }],
    },
  },
  ...Object.keys(allowedImports).map((module) => ({
    files: [`${module}/**/*.ts`],
    ignores: [`${module}/**/*.test.ts`, 'crdt/level-storage.ts'],
    rules: boundaryRules(module),
  })),
  {
    // Only core/system.ts touches the real clock and randomness.
    files: ['core/**/*.ts', 'scope/**/*.ts', 'crdt/**/*.ts', 'p2p/**/*.ts', 'glue/**/*.ts', 'node/**/*.ts'],
    ignores: ['core/system.ts', '**/*.test.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'Date', property: 'now', message: 'use the injected Clock' },
        { object: 'Math', property: 'random', message: 'use the injected Random' },
        { object: 'crypto', property: 'randomUUID', message: 'use the injected Random' },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'setTimeout', message: 'use the injected Clock' },
        { name: 'setInterval', message: 'use the injected Clock' },
      ],
    },
  },
);
