import { TestSchema, TestSchemaOptions, createMigratedTestSchema } from '@ringcloud/testing';

export type { TestSchema };

/** The calls-service tables in a schema of their own (one per test file). */
export const CALLS_TEST_SCHEMA: TestSchemaOptions = {
  app: 'calls-service',
  prefix: 'calls_test',
  urlVariables: ['CALLS_DATABASE_URL'],
  databaseUrl: process.env.CALLS_TEST_DATABASE_URL,
};

/** A uniquely named schema with the calls-service tables, migrated as in production. */
export function createTestSchema(): Promise<TestSchema> {
  return createMigratedTestSchema(CALLS_TEST_SCHEMA);
}
