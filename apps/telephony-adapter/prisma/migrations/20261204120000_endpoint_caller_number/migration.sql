-- Outside calls present the user's own inbound number: the adapter puts it on the user's endpoint as
-- `set_var = RC_CALLER_NUMBER=<number>` (Asterisk's own column, from its Alembic set), which rc-outbound's
-- Dial sends to the trunk. Users who already have numbers get theirs now: the smallest, as the adapter picks.
ALTER TABLE "ps_endpoints" ADD COLUMN "set_var" TEXT;

UPDATE "ps_endpoints" AS e
SET "set_var" = 'RC_CALLER_NUMBER=' || n.number
FROM (
  SELECT "user", min("number") AS number
  FROM "provisioned_numbers"
  WHERE "account_id" IS NOT NULL AND "user" IS NOT NULL
  GROUP BY "user"
) AS n
WHERE e.id = n."user";
