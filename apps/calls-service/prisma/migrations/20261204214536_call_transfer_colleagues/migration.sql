-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "transferred_users" TEXT[] DEFAULT ARRAY[]::TEXT[];

-- Calls transferred before kept their last colleague only.
UPDATE "calls" SET "transferred_users" = ARRAY["transferred_to"] WHERE "transferred_to" IS NOT NULL;
