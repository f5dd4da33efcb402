-- CreateTable
CREATE TABLE "deleted_users" (
    "username" TEXT NOT NULL,
    "account_id" INTEGER NOT NULL,
    "extension" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "deleted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "deleted_users_pkey" PRIMARY KEY ("username")
);

-- CreateIndex
CREATE INDEX "deleted_users_account_id_idx" ON "deleted_users"("account_id");
