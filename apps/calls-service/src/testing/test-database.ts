import { TestSchema, createMigratedTestSchema } from '@ringcloud/testing';

export type { TestSchema };

/** A uniquely named schema with the calls-service tables (one per test file), migrated as in production. */
export function createTestSchema(): Promise<TestSchema> {
  return createMigratedTestSchema({
    app: 'calls-service',
    prefix: 'calls_test',
    urlVariables: ['CALLS_DATABASE_URL'],
    databaseUrl: process.env.CALLS_TEST_DATABASE_URL,
  });
}
