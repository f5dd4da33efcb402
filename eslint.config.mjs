import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// Module boundaries are enforced, not just declared (see docs/architecture.md):
// contracts depend only on contracts; apps never import apps; a scope depends on itself and shared.
export default [
  { ignores: ['**/node_modules', '**/dist', '**/generated/**', '.nx/**', 'tmp/**', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
      // Contracts use one namespace per message (X.subject, X.Request): see docs/architecture.md.
      '@typescript-eslint/no-namespace': 'off',
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:contracts', onlyDependOnLibsWithTags: ['type:contracts'] },
            // util: pure code (parsers, no framework, no I/O) that apps and tools share.
            { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
            { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:infra'] },
            { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:infra', 'type:testing', 'type:sdk'] },
            // The SDK is published on its own: it may not import any workspace project.
            { sourceTag: 'type:sdk', onlyDependOnLibsWithTags: [] },
            { sourceTag: 'type:tool', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:infra', 'type:testing', 'type:sdk'] },
            { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:contracts', 'type:util', 'type:infra', 'type:testing'] },
            { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
            { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
            { sourceTag: 'scope:users', onlyDependOnLibsWithTags: ['scope:users', 'scope:shared'] },
            { sourceTag: 'scope:calls', onlyDependOnLibsWithTags: ['scope:calls', 'scope:shared'] },
            { sourceTag: 'scope:telephony', onlyDependOnLibsWithTags: ['scope:telephony', 'scope:shared'] },
            { sourceTag: 'scope:webhooks', onlyDependOnLibsWithTags: ['scope:webhooks', 'scope:shared'] },
            { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:shared', 'scope:sdk'] },
            { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:shared', 'scope:sdk'] },
          ],
        },
      ],
    },
  },
  {
    // Contracts are plain data + validation: no framework, no transport, no ORM.
    files: ['libs/contracts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['@nestjs/*', '@prisma/*', 'prisma', '@nats-io/*', 'nats', 'ioredis', 'pg', 'fastify'], message: 'contracts depend on nothing but zod and other contracts' },
          ],
        },
      ],
    },
  },
  {
    // @ringcloud/sdk ships with zero runtime dependencies: Node's built-ins and its own files only
    // (its tests may use the workspace's dev packages, e.g. standardwebhooks).
    files: ['libs/sdk/src/**/*.ts'],
    ignores: ['libs/sdk/src/**/*.spec.ts', 'libs/sdk/src/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!node:|\\.{1,2}/)', message: '@ringcloud/sdk has no dependencies: import node:* built-ins or its own files only' }] },
      ],
    },
  },
];
