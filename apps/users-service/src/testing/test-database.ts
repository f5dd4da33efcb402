import { TestSchema, createMigratedTestSchema } from '@ringcloud/testing';

export type { TestSchema };

/** A uniquely named schema with the users-service tables (one per test file), migrated as in production. */
export function createTestSchema(): Promise<TestSchema> {
  return createMigratedTestSchema({
    app: 'users-service',
    prefix: 'users_test',
    urlVariables: ['USERS_DATABASE_URL'],
    databaseUrl: process.env.USERS_TEST_DATABASE_URL,
  });
}
