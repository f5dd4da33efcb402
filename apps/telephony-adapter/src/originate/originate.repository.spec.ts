import { TestSchema } from '@ringcloud/testing';
import { PrismaClient, createPrismaClient } from '../infra/database';
import { createTestSchema } from '../testing/test-env';
import { OriginateRepository } from './originate.repository';

/** originate_requests in a real PostgreSQL schema, migrated as in production. */
describe('OriginateRepository', () => {
  let schema: TestSchema;
  let prisma: PrismaClient;

  beforeAll(async () => {
    schema = await createTestSchema();
    prisma = createPrismaClient(schema.databaseUrl, 2);
  });
  afterAll(async () => {
    await prisma?.$disconnect();
    await schema?.drop();
  });

  const intent = (n: number, daysAgo: number) => ({
    actionId: `pbx1-originate-${n}`,
    callId: `00000000-0000-4000-8000-00000000000${n}`,
    accountId: 1001,
    user: '1679728441',
    num: '79101234567',
    src: '401',
    at: Date.now() - daysAgo * 86_400_000,
  });

  it("prunes its node's requests made before the given time, in chunks, and keeps the rest", async () => {
    const pbx1 = new OriginateRepository(prisma, 'pbx1');
    const pbx2 = new OriginateRepository(prisma, 'pbx2');
    for (const [n, days] of [[1, 9], [2, 8], [3, 8], [4, 1]] as const) await pbx1.save(intent(n, days));
    await pbx2.save({ ...intent(5, 9), actionId: 'pbx2-originate-5' });

    expect(await pbx1.prune(new Date(Date.now() - 7 * 86_400_000), 2)).toBe(3);
    expect((await prisma.originateRequest.findMany({ orderBy: { actionId: 'asc' } })).map((r) => r.actionId)).toEqual(['pbx1-originate-4', 'pbx2-originate-5']);
    expect(await pbx1.findByCallId(intent(4, 1).callId)).toEqual({ actionId: 'pbx1-originate-4', accountId: 1001, src: '401' });
    expect(await pbx1.prune(new Date(Date.now() - 7 * 86_400_000))).toBe(0);
  });
});
