-- AlterTable
ALTER TABLE "users" ADD COLUMN "create_request" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "users_account_id_create_request_key" ON "users"("account_id", "create_request");
