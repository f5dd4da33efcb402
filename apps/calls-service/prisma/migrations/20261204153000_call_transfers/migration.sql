-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "transferred_at" TIMESTAMPTZ(3),
ADD COLUMN     "transferred_to" TEXT,
ADD COLUMN     "transferred_to_num" TEXT;
