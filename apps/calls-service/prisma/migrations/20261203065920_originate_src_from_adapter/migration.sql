-- AlterTable
ALTER TABLE "originate_requests" ALTER COLUMN "src" DROP NOT NULL;
